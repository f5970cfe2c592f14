package api

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
	"go.uber.org/zap"

	"github.com/spotcheck-gov/spotcheck/internal/auth"
	"github.com/spotcheck-gov/spotcheck/internal/bulk"
	"github.com/spotcheck-gov/spotcheck/internal/fault"
)

// defaultImportMaxBytes bounds an uploaded import file unless
// IMPORT_MAX_BYTES says otherwise: about 300,000 object rows of CSV.
const defaultImportMaxBytes = 50 << 20

// bulkAPI imports and exports the libraries in files.
type bulkAPI struct {
	s   *Server
	svc *bulk.Service
}

// bulkRoutes registers import, export and the import template of both
// libraries.
func (s *Server) bulkRoutes(v1 *gin.RouterGroup) {
	h := &bulkAPI{s: s, svc: s.d.Services.Bulk}
	limit := importMaxBytes(s.log)
	for _, l := range []*bulk.Library{bulk.Objects, bulk.Inspectors} {
		// Exports of the inspector library carry personal data of every
		// county: not for county officers or inspectors.
		exporters := requireRole(notInspectors...)
		if l == bulk.Inspectors {
			exporters = requireRole(auth.Admin, auth.Coordinator, auth.DepartmentOfficer, auth.Auditor)
		}
		v1.POST("/"+l.Name+"/import", requireRole(libraryWriters...), h.importLibrary(l, limit))
		v1.GET("/"+l.Name+"/export", exporters, h.exportLibrary(l))
		v1.GET("/"+l.Name+"/import-template", h.importTemplate(l))
	}
}

// importMaxBytes reads IMPORT_MAX_BYTES (a number of bytes).
func importMaxBytes(log *zap.Logger) int64 {
	v := os.Getenv("IMPORT_MAX_BYTES")
	if v == "" {
		return defaultImportMaxBytes
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 {
		log.Warn("IMPORT_MAX_BYTES is not a positive number of bytes; using the default",
			zap.String("value", v), zap.Int64("default", defaultImportMaxBytes))
		return defaultImportMaxBytes
	}
	return n
}

// importLibrary answers POST /{library}/import: a multipart upload with the
// file in the field "file"; query dry_run, skip_invalid, encoding
// (utf-8|gb18030, detected when absent) and format (csv|xlsx, detected when
// absent). A file with problems is a 400 problem listing each with its row
// and column; the counts are in its details.
func (h *bulkAPI) importLibrary(l *bulk.Library, limit int64) gin.HandlerFunc {
	return func(c *gin.Context) {
		opt, err := importOptions(c)
		if err != nil {
			h.s.fail(c, err)
			return
		}
		path, name, err := receiveUpload(c, limit)
		if path != "" {
			defer os.Remove(path)
		}
		if err != nil {
			h.s.fail(c, err)
			return
		}
		opt.Name, opt.Actor, opt.MaxBytes = name, actorOf(c), limit
		res, err := h.svc.Import(c.Request.Context(), l, path, opt)
		if err != nil {
			h.s.fail(c, err)
			return
		}
		h.s.log.Info("library import", zap.String("library", l.Name), zap.String("actor", opt.Actor),
			zap.Bool("dry_run", res.DryRun), zap.Int("rows", res.Rows), zap.Int("created", res.Created),
			zap.Int("updated", res.Updated), zap.Int("skipped", res.Skipped))
		c.JSON(http.StatusOK, res)
	}
}

func importOptions(c *gin.Context) (bulk.Options, error) {
	var opt bulk.Options
	var err error
	if opt.DryRun, err = queryBool(c, "dry_run"); err != nil {
		return opt, err
	}
	if opt.SkipInvalid, err = queryBool(c, "skip_invalid"); err != nil {
		return opt, err
	}
	if opt.Encoding, err = bulk.ParseEncoding(c.Query("encoding")); err != nil {
		return opt, err
	}
	if opt.Format, err = bulk.ParseFormat(c.Query("format")); err != nil {
		return opt, err
	}
	return opt, nil
}

func queryBool(c *gin.Context, name string) (bool, error) {
	switch strings.ToLower(c.Query(name)) {
	case "", "false", "0", "no":
		return false, nil
	case "true", "1", "yes":
		return true, nil
	}
	return false, fault.Field(name, "must be true or false, got %q", c.Query(name))
}

// receiveUpload streams the multipart field "file" into a temporary file,
// refusing it as soon as it passes limit bytes, and returns its path and
// the name the sender gave it. Nothing of the upload is held in memory.
func receiveUpload(c *gin.Context, limit int64) (path, name string, err error) {
	// The multipart framing adds a little to the file itself.
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, limit+64<<10)
	mr, err := c.Request.MultipartReader()
	if err != nil {
		return "", "", fault.Field("file", "send the file as multipart/form-data in the field \"file\" (%v)", err)
	}
	tooLarge := fault.New(fault.TooLarge, "the file is larger than the limit of %d bytes (%d MiB); split it or ask for a higher IMPORT_MAX_BYTES", limit, limit>>20)
	for {
		part, err := mr.NextPart()
		var mbe *http.MaxBytesError
		switch {
		case errors.Is(err, io.EOF):
			if path == "" {
				return "", "", fault.Field("file", "is missing: send the file as multipart/form-data in the field \"file\"")
			}
			return path, name, nil
		case errors.As(err, &mbe):
			return path, "", tooLarge
		case err != nil:
			return path, "", fault.New(fault.Invalid, "the multipart body cannot be read: %v", err)
		}
		if part.FormName() != "file" {
			part.Close()
			return path, "", fault.Field(part.FormName(), "is not a field of an import: send only the field \"file\" (options go in the query)")
		}
		if path != "" {
			part.Close()
			return path, "", fault.Field("file", "send one file per import")
		}
		name = part.FileName()
		path, err = spool(part, name, limit)
		part.Close()
		switch {
		case errors.As(err, &mbe) || errors.Is(err, errTooLarge):
			return path, "", tooLarge
		case err != nil:
			return path, "", err
		}
	}
}

var errTooLarge = errors.New("upload too large")

// spool copies part to a temporary file, keeping the extension of name.
func spool(part *multipart.Part, name string, limit int64) (string, error) {
	ext := strings.ToLower(filepath.Ext(name))
	if len(ext) > 8 || strings.ContainsAny(ext, `/\*`) {
		ext = ""
	}
	f, err := os.CreateTemp("", "spotcheck-import-*"+ext)
	if err != nil {
		return "", fmt.Errorf("import: spool upload: %w", err)
	}
	n, err := io.Copy(f, io.LimitReader(part, limit+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return f.Name(), err
		}
		return f.Name(), fault.New(fault.Invalid, "the upload was cut short: %v", err)
	}
	if n > limit {
		return f.Name(), errTooLarge
	}
	return f.Name(), nil
}

// exportLibrary answers GET /{library}/export?format=csv|xlsx with the
// library as a file that imports unchanged; region, kind (objects) and
// status narrow it.
func (h *bulkAPI) exportLibrary(l *bulk.Library) gin.HandlerFunc {
	return func(c *gin.Context) {
		format, err := bulk.ParseFormat(c.Query("format"))
		if err != nil {
			h.s.fail(c, err)
			return
		}
		f := bulk.Filter{Region: c.Query("region"), Kind: c.Query("kind"), Status: c.Query("status")}
		exp, err := h.svc.StartExport(c.Request.Context(), l, format, f)
		if err != nil {
			h.s.fail(c, err)
			return
		}
		c.Header("Content-Type", exp.ContentType())
		c.Header("Content-Disposition", attachment(exp.FileName(), l.Title+filepath.Ext(exp.FileName())))
		c.Status(http.StatusOK)
		if err := exp.Write(c.Writer); err != nil {
			// The status is sent: all that is left is to break the
			// connection, so the client cannot take a truncated file for
			// a whole one.
			h.s.log.Error("export failed while streaming", zap.String("request_id", c.GetString(requestIDKey)),
				zap.String("library", l.Name), zap.Error(err))
			if hj, ok := c.Writer.(http.Hijacker); ok {
				if conn, _, herr := hj.Hijack(); herr == nil {
					conn.Close()
				}
			}
			c.Abort()
		}
	}
}

// importTemplate answers GET /{library}/import-template: an XLSX workbook
// with the Chinese headers, an example row and drop-down lists.
func (h *bulkAPI) importTemplate(l *bulk.Library) gin.HandlerFunc {
	return func(c *gin.Context) {
		var buf bytes.Buffer
		if err := h.svc.WriteTemplate(c.Request.Context(), l, &buf); err != nil {
			h.s.fail(c, err)
			return
		}
		c.Header("Content-Disposition", attachment(bulk.TemplateFileName(l), l.Title+"导入模板.xlsx"))
		c.Data(http.StatusOK, bulk.TemplateContentType, buf.Bytes())
	}
}

// attachment is a Content-Disposition with an ASCII file name and, for
// browsers that take it, a Chinese one (RFC 6266).
func attachment(ascii, chinese string) string {
	return fmt.Sprintf(`attachment; filename="%s"; filename*=UTF-8''%s`, ascii, url.PathEscape(chinese))
}
