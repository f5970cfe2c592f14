package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/spotcheck-gov/spotcheck/internal/archive"
	"github.com/spotcheck-gov/spotcheck/internal/config"
)

const archiveUsage = `usage: spotcheck archive verify DIR|URL [--token T] [--sha256 HEX]
       spotcheck archive export --batch ID --dir DIR

verify  recomputes a sealed archive (数据存档): every file's length and SHA-256,
        the manifest byte for byte and its SHA-256, and the draw from the
        archived proof and population. DIR is a folder written by "archive
        export" (manifest.json, manifest.sha256 and the files); URL is
        GET /api/v1/batches/{id}/archive, whose files are read beside it
        (token from --token or SPOTCHECK_TOKEN). Prints "OK: ..." (exit 0) or
        "MISMATCH: " and the first difference (exit 1).
export  copies a sealed archive out of the database (DATABASE_URL) into DIR.
`

// maxArchiveFileBytes bounds one archived file: the population of a
// 1,000,000-object batch is about 60 MB.
const maxArchiveFileBytes = 1 << 30

func runArchive(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	action := ""
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		action, args = args[0], args[1:]
	}
	fs := flag.NewFlagSet("spotcheck archive "+action, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, archiveUsage, "\nFlags:\n"); fs.PrintDefaults() }
	cfg := config.Register(fs)
	token := fs.String("token", os.Getenv("SPOTCHECK_TOKEN"), "verify URL: the API key of an auditor or coordinator")
	wantSum := fs.String("sha256", "", "verify: the manifest's SHA-256 as published (default: manifest.sha256 in DIR, the X-Manifest-SHA256 header of URL)")
	timeout := fs.Duration("timeout", 2*time.Minute, "verify URL: longest wait for each file")
	batchID := fs.String("batch", "", "export: the batch")
	dir := fs.String("dir", "", "export: the folder to write")
	pos, err := parseArgs(fs, args, cfg)
	if err != nil {
		return err
	}
	switch {
	case action == "verify" && len(pos) == 1:
		return verifyArchive(ctx, pos[0], *token, *wantSum, *timeout, stdout)
	case action == "export" && len(pos) == 0 && *batchID != "" && *dir != "":
		if cfg.DatabaseURL == "" {
			return usageError{"DATABASE_URL is not set: point it at the PostgreSQL database that holds the archive"}
		}
		return exportArchive(ctx, cfg.DatabaseURL, *batchID, *dir, stdout)
	}
	return usageError{strings.Join(strings.SplitN(archiveUsage, "\n", 3)[:2], "\n")}
}

func verifyArchive(ctx context.Context, source, token, wantSum string, timeout time.Duration, stdout io.Writer) error {
	var (
		manifest []byte
		open     func(name string) ([]byte, error)
	)
	if isSourceURL(source) {
		base := strings.TrimSuffix(source, "/")
		data, header, err := readSourceHeader(ctx, base, token, timeout, maxArchiveFileBytes, "an archive manifest")
		if err != nil {
			return err
		}
		manifest = data
		if wantSum == "" {
			wantSum = header.Get("X-Manifest-SHA256")
		}
		open = func(name string) ([]byte, error) {
			return readSource(ctx, base+"/"+path.Base(name), token, timeout, maxArchiveFileBytes, "an archive file")
		}
	} else {
		data, err := os.ReadFile(filepath.Join(source, archive.ManifestFile))
		if err != nil {
			return fmt.Errorf("%s is not an archive folder: %w", source, err)
		}
		manifest = data
		if wantSum == "" {
			if sum, err := os.ReadFile(filepath.Join(source, archive.ManifestSumFile)); err == nil {
				wantSum = strings.TrimSpace(string(sum))
			}
		}
		open = func(name string) ([]byte, error) { return os.ReadFile(filepath.Join(source, filepath.Base(name))) }
	}

	c, err := archive.Verify(manifest, wantSum, open)
	var mm *archive.Mismatch
	if errors.As(err, &mm) {
		fmt.Fprintf(stdout, "MISMATCH: %s\n", mm)
		return errors.New("the archive does not verify")
	}
	if err != nil {
		return err
	}
	published := "not compared: no published hash given"
	if wantSum != "" {
		published = "equal to the published hash"
	}
	drawn := "no draw proof with its population in the archive"
	if c.DrawVerified {
		drawn = "the draw recomputes from the archived proof and population"
	}
	fmt.Fprintf(stdout, "OK: archive of batch %s: %d files, %d bytes; manifest SHA-256 %s (%s); %s\n",
		c.BatchID, c.Files, c.Bytes, c.ManifestSHA256, published, drawn)
	return nil
}

func exportArchive(ctx context.Context, dbURL, batchID, dir string, stdout io.Writer) error {
	db, err := openDB(ctx, dbURL, 2)
	if err != nil {
		return err
	}
	defer db.Close()
	closer := &archive.Closer{DB: db}
	manifest, sum, err := closer.Sealed(ctx, batchID)
	if err != nil {
		return err
	}
	var m archive.Manifest
	if err := json.Unmarshal(manifest, &m); err != nil {
		return fmt.Errorf("read the manifest of %s: %w", batchID, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	write := func(name string, b []byte) error {
		return os.WriteFile(filepath.Join(dir, name), b, 0o644)
	}
	if err := write(archive.ManifestFile, manifest); err != nil {
		return err
	}
	if err := write(archive.ManifestSumFile, []byte(sum+"\n")); err != nil {
		return err
	}
	for _, f := range m.Files {
		b, err := closer.FileContent(ctx, batchID, f.Name)
		if err != nil {
			return err
		}
		if err := write(filepath.Base(f.Name), b); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "archive of batch %s: %d files and its manifest written to %s\n", batchID, len(m.Files), dir)
	return nil
}
