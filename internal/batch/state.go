package batch

// A State is where a batch is in its life. The draw moves it
// committed → frozen → drawn → locked; the lifecycle after the draw adds
// its own states in CanTransition.
type State string

// The states of a batch. Archived and cancelled batches are closed: their
// drawn objects no longer count as "already drawn in an open batch" (the
// population query says so in SQL).
const (
	Committed State = "committed" // created; the nonce's commitment is published
	Frozen    State = "frozen"    // the population is fixed and published
	Drawn     State = "drawn"     // drawn; the proof is published
	Locked    State = "locked"    // the drawn list is assigned to counties and can no longer change
	Archived  State = "archived"
	Cancelled State = "cancelled"
)

// CanTransition reports whether a batch may move from one state to
// another. It is the one place that says so; every change of state checks
// it in the same transaction that makes the change.
func CanTransition(from, to State) bool {
	switch from {
	case Committed:
		return to == Frozen
	case Frozen:
		return to == Drawn
	case Drawn:
		return to == Locked
	}
	return false
}

// reached reports whether a batch in state s has passed through step, the
// state a step of the draw sequence leads to: a frozen, drawn or locked
// batch has been frozen, and so on. States added after Locked count as
// past all three steps; cancellation does not.
func reached(s, step State) bool {
	order := map[State]int{Committed: 0, Frozen: 1, Drawn: 2, Locked: 3}
	rank, ok := order[s]
	if !ok {
		// A later state of the lifecycle: everything the draw does is done.
		rank = len(order)
	}
	if s == Cancelled {
		return false
	}
	return rank >= order[step]
}
