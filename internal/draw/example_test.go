package draw_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/spotcheck-gov/spotcheck/internal/draw"
)

// The life of a batch's draw, from commitment to public verification.
func Example() {
	// Commit: when the batch is created. NewNonce would draw the nonce;
	// a fixed one keeps the output stable.
	nonce := bytes.Repeat([]byte{0x5a}, draw.NonceSize)
	commitment := draw.Commitment(nonce)
	committedAt := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

	// Freeze: publish the population's hash and the strata.
	population := []draw.Entry{
		{ObjectKey: "91330402MA2B000001", Stratum: "item=ZR-01;risk=low"},
		{ObjectKey: "91330402MA2B000002", Stratum: "item=ZR-01;risk=low"},
		{ObjectKey: "91330402MA2B000003", Stratum: "item=ZR-01;risk=low"},
		{ObjectKey: "91330411MA2C000004", Stratum: "item=ZR-01;risk=high"},
		{ObjectKey: "91330411MA2C000005", Stratum: "item=ZR-01;risk=high"},
	}
	quotas := map[string]draw.Quota{
		"item=ZR-01;risk=low":  {Ratio: "0.3"},
		"item=ZR-01;risk=high": {Ratio: "0.5", Min: 2},
	}
	var tsv bytes.Buffer
	populationHash, err := draw.WritePopulation(&tsv, population)
	if err != nil {
		panic(err)
	}
	strata, err := draw.Strata(population, quotas)
	if err != nil {
		panic(err)
	}
	for _, st := range strata {
		fmt.Printf("%s: %d of %d\n", st.Label, st.Quota, st.Population)
	}
	frozenAt := committedAt.Add(time.Hour)

	// Beacon and draw.
	const batchID, beacon = "2026-ZR-001", "witness-a|witness-b"
	if err := draw.ValidateText("beacon", beacon); err != nil {
		panic(err)
	}
	seed := draw.Seed(batchID, nonce, beacon)
	res, err := draw.Draw(seed, population, quotas)
	if err != nil {
		panic(err)
	}
	proof := draw.Proof{
		Algorithm:      draw.Algorithm,
		BatchID:        batchID,
		Commitment:     commitment,
		CommittedAt:    committedAt,
		PopulationHash: populationHash,
		FrozenAt:       frozenAt,
		Strata:         res.Strata,
		Beacon:         beacon,
		Nonce:          hex.EncodeToString(nonce),
		Seed:           hex.EncodeToString(seed[:]),
		DrawnAt:        frozenAt.Add(time.Hour),
		Drawn:          res.Drawn,
	}
	published, _ := json.Marshal(proof)

	// Anyone: read the published proof and population back and check.
	var got draw.Proof
	if err := json.Unmarshal(published, &got); err != nil {
		panic(err)
	}
	fmt.Println("verify:", draw.Verify(got, bytes.NewReader(tsv.Bytes())))
	got.Drawn[0].ObjectKey = "91330402MA2B000009"
	fmt.Println("verify:", draw.Verify(got, bytes.NewReader(tsv.Bytes())))
	// Output:
	// item=ZR-01;risk=high: 2 of 2
	// item=ZR-01;risk=low: 1 of 3
	// verify: <nil>
	// verify: MISMATCH drawn[0].object_key: proof says "91330402MA2B000009", recomputed "91330411MA2C000004"
}
