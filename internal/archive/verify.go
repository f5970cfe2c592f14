package archive

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/spotcheck-gov/spotcheck/internal/draw"
)

// ManifestFile is the name under which a copied archive keeps its manifest,
// beside its files; ManifestSumFile holds the manifest's SHA-256 as the
// system published it.
const (
	ManifestFile    = "manifest.json"
	ManifestSumFile = "manifest.sha256"
)

// Mismatch is what an archive check found wrong: the file (or the
// manifest) and how.
type Mismatch struct {
	File   string
	Detail string
}

func (m *Mismatch) Error() string { return m.File + ": " + m.Detail }

// Checked is what a passing check saw.
type Checked struct {
	BatchID        string
	Files          int
	Bytes          int
	ManifestSHA256 string
	// DrawVerified is true when the archive holds the draw proof and its
	// population and the draw recomputes from them (DRAW-SPEC §1).
	DrawVerified bool
}

// Verify recomputes an archive's manifest from its files: every file's
// length and SHA-256, then the manifest itself byte for byte as Seal writes
// it, and its SHA-256 against wantSum when one is given (the hash the system
// published). When the archive carries the draw proof and the population,
// the draw is recomputed too. A *Mismatch names the first difference; read
// errors are returned as they are.
func Verify(manifest []byte, wantSum string, open func(name string) ([]byte, error)) (Checked, error) {
	var m Manifest
	if err := json.Unmarshal(manifest, &m); err != nil {
		return Checked{}, &Mismatch{ManifestFile, fmt.Sprintf("is not an archive manifest: %v", err)}
	}
	if m.BatchID == "" || len(m.Files) == 0 {
		return Checked{}, &Mismatch{ManifestFile, "names no batch or no files"}
	}
	sum := sha256.Sum256(manifest)
	got := hex.EncodeToString(sum[:])
	if wantSum != "" && got != wantSum {
		return Checked{}, &Mismatch{ManifestFile, fmt.Sprintf("has SHA-256 %s, but %s was published", got, wantSum)}
	}
	c := Checked{BatchID: m.BatchID, ManifestSHA256: got}
	// Everything but the file list is taken as it stands (the audit head
	// is checked against the published heads by audit verify --heads).
	recomputed := m
	recomputed.Files = nil
	contents := map[string][]byte{}
	for _, f := range m.Files {
		b, err := open(f.Name)
		if err != nil {
			return Checked{}, fmt.Errorf("read %s: %w", f.Name, err)
		}
		h := sha256.Sum256(b)
		entry := File{Name: f.Name, Bytes: len(b), SHA256: hex.EncodeToString(h[:])}
		if entry != f {
			return Checked{}, &Mismatch{f.Name, fmt.Sprintf("has %d bytes with SHA-256 %s; the manifest says %d bytes, %s",
				entry.Bytes, entry.SHA256, f.Bytes, f.SHA256)}
		}
		recomputed.Files = append(recomputed.Files, entry)
		contents[f.Name] = b
		c.Files++
		c.Bytes += len(b)
	}
	again, err := json.MarshalIndent(recomputed, "", "  ")
	if err != nil {
		return Checked{}, err
	}
	if !bytes.Equal(again, manifest) {
		return Checked{}, &Mismatch{ManifestFile, "is not the manifest its files make (fields added, reordered or reformatted)"}
	}

	proof, havePop := contents["draw-proof.json"], contents["population.tsv"] != nil
	if len(proof) > 0 && havePop {
		var p draw.Proof
		if err := json.Unmarshal(proof, &p); err != nil {
			return Checked{}, &Mismatch{"draw-proof.json", fmt.Sprintf("is not a draw proof: %v", err)}
		}
		if err := draw.Verify(p, bytes.NewReader(contents["population.tsv"])); err != nil {
			var mm *draw.Mismatch
			if errors.As(err, &mm) {
				return Checked{}, &Mismatch{"draw-proof.json", fmt.Sprintf("the draw does not recompute: %s: %s", mm.Field, mm.Detail)}
			}
			return Checked{}, &Mismatch{"population.tsv", err.Error()}
		}
		c.DrawVerified = true
	}
	return c, nil
}
