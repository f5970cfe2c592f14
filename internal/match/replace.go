package match

import (
	"fmt"
	"strings"
)

// Replace chooses who replaces one member of an object's team, when that
// member has become unavailable or was recused late. Following the
// replacement rule of the published algorithm, it is matching round r+1 for
// that object alone, where r is the round that formed the current team:
// the replacement is the first inspector, in the order of step 3 under the
// new round's match seed, among those who are eligible for the object
// (required tags held, not recused), are not on the current team, and whose
// load today is below their max_load.
//
// Arguments:
//
//   - seed is the new round's match seed, Seed(drawSeed, countyCode, r+1,
//     beacon);
//   - object is the object as it stands now: a late recusal must already be
//     in object.Recused;
//   - team is the current team, replaced included; its members need not be
//     in the pool (an inspector whose certificate lapsed has left it);
//   - inspectors is today's pool, each InitialLoad being the inspector's
//     load today, not the load at the original match.
//
// When nobody can replace the inspector, Replace returns an
// [*InfeasibleError] with one entry whose Eligible counts the eligible
// inspectors outside the team and Available those of them below max_load.
// Replace does not record anything: keeping the reason, and the results
// already entered, is the caller's duty.
func Replace(seed [32]byte, object Object, team []string, replaced string, inspectors []Inspector) (string, error) {
	if err := checkObject("object", &object); err != nil {
		return "", err
	}
	if err := checkTeam(team, replaced); err != nil {
		return "", err
	}
	if err := checkInspectors(inspectors); err != nil {
		return "", err
	}

	p := newPool(inspectors)
	// The replaced inspector is on the team, so excluding the team excludes
	// them too.
	onTeam := newBitset(len(inspectors))
	for _, key := range team {
		if i, ok := p.index[key]; ok {
			onTeam.set(i)
		}
	}
	eligible := p.eligible(newBitset(len(inspectors)), &object)
	for w := range eligible {
		eligible[w] &^= onTeam[w]
	}
	load := make([]int, len(inspectors))
	for i, in := range inspectors {
		load[i] = in.InitialLoad
	}
	var s selector
	chosen, available := s.choose(newPRF(seed), p, load, object.ObjectKey, 1, eligible)
	if chosen == nil {
		return "", &InfeasibleError{Objects: []Infeasible{{
			ObjectKey: object.ObjectKey,
			Eligible:  eligible.count(),
			Available: available,
		}}}
	}
	return inspectors[chosen[0]].InspectorKey, nil
}

func checkTeam(team []string, replaced string) error {
	seen := make(map[string]int, len(team))
	for i, key := range team {
		field := fmt.Sprintf("team[%d]", i)
		if r := labelProblem(key); r != "" {
			return &InputError{field, r}
		}
		if j, dup := seen[key]; dup {
			return &InputError{field, fmt.Sprintf("%q duplicates team[%d]", key, j)}
		}
		seen[key] = i
	}
	if _, ok := seen[replaced]; !ok {
		return &InputError{"replaced", fmt.Sprintf("%q is not on the team [%s]", replaced, strings.Join(team, " "))}
	}
	return nil
}
