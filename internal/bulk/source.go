package bulk

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/transform"

	"github.com/spotcheck-gov/spotcheck/internal/fault"
)

// Format is a file format of imports and exports.
type Format string

// The formats.
const (
	CSV  Format = "csv"
	XLSX Format = "xlsx"
)

// ParseFormat reads a format name; "" means detect from the content.
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "":
		return "", nil
	case "csv":
		return CSV, nil
	case "xlsx":
		return XLSX, nil
	}
	return "", fault.Field("format", "must be csv or xlsx, got %q", s)
}

// Encoding is the character encoding of a CSV file.
type Encoding string

// The encodings. GB18030 is a superset of GBK and GB2312, what Chinese
// Windows calls "ANSI" text.
const (
	UTF8    Encoding = "utf-8"
	GB18030 Encoding = "gb18030"
)

// ParseEncoding reads an encoding name; "" or "auto" means detect.
func ParseEncoding(s string) (Encoding, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "auto":
		return "", nil
	case "utf-8", "utf8":
		return UTF8, nil
	case "gb18030", "gbk", "gb2312", "cp936", "ansi":
		return GB18030, nil
	}
	return "", fault.Field("encoding", "must be utf-8 or gb18030 (or leave it out to detect), got %q", s)
}

// records yields the rows of a file.
type records interface {
	// next returns the cells of the next row and its spreadsheet row
	// number, or io.EOF after the last row. A *rowError concerns that row
	// alone and reading may go on; any other error ends the file.
	next() (row int, cells []string, err error)
	close() error
}

// rowError is a problem with one row as a whole (CSV syntax).
type rowError struct {
	row int
	msg string
}

func (e *rowError) Error() string { return fmt.Sprintf("row %d: %s", e.row, e.msg) }

// source is an opened file: its rows and how it was read.
type source struct {
	records
	format   Format
	encoding Encoding // CSV only
	// badText reports whether a cell holds bytes that the file's encoding
	// cannot represent; badTextMsg says so to a person.
	badText    func(string) bool
	badTextMsg string
	headerHint string // added to header problems when the encoding looks wrong
}

var (
	zipMagic = []byte("PK\x03\x04")
	oleMagic = []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}
)

// openSource opens the file at path as format (detected from its content
// when empty) and, for CSV, encoding (detected when empty). Problems of the
// file as a whole are *fault.Error values.
func openSource(path string, format Format, enc Encoding) (*source, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open import file: %w", err)
	}
	head := make([]byte, 8)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		f.Close()
		return nil, fmt.Errorf("read import file: %w", err)
	}
	head = head[:n]
	if n == 0 {
		f.Close()
		return nil, fileProblem("the file is empty: expected a header row and rows of data")
	}
	isZip, isOLE := bytes.HasPrefix(head, zipMagic), bytes.HasPrefix(head, oleMagic)
	switch {
	case isOLE:
		f.Close()
		return nil, fileProblem("the file is an Excel 97–2003 workbook (.xls) or a password-protected workbook; save it as an Excel Workbook (.xlsx) without a password, or as CSV UTF-8")
	case format == CSV && isZip:
		f.Close()
		return nil, fileProblem("the file is an XLSX workbook (a zip archive), not CSV: send it as xlsx or leave the format out")
	case format == XLSX || format == "" && isZip:
		f.Close()
		return openXLSX(path)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, fmt.Errorf("read import file: %w", err)
	}
	return openCSV(f, enc)
}

func fileProblem(format string, args ...any) error {
	return fault.Invalids("the file cannot be read", []fault.Problem{{Message: fmt.Sprintf(format, args...)}})
}

// openCSV detects or checks the encoding, skips a byte order mark and
// picks the delimiter (comma, or tab when the header has tabs and no
// commas).
func openCSV(f *os.File, enc Encoding) (*source, error) {
	detected, bom, err := detectEncoding(f)
	if err != nil {
		f.Close()
		return nil, err
	}
	src := &source{format: CSV, encoding: enc}
	switch {
	case enc == "" && detected == "":
		// Neither encoding reads the file: read it as UTF-8 so that every
		// cell with foreign bytes is reported where it is.
		src.encoding = UTF8
		src.badTextMsg = "contains bytes that are neither UTF-8 nor GB18030 text; save the file as CSV UTF-8"
	case enc == "":
		src.encoding = detected
	case enc == UTF8 && detected == GB18030:
		src.badTextMsg = "is not valid UTF-8 text; the file looks like GB18030 (Chinese Windows \"ANSI\"): send encoding=gb18030 or leave the encoding out"
	case enc == GB18030 && detected == UTF8:
		// Every UTF-8 file decodes as some GB18030; only the headers can
		// tell, so their problems carry this hint.
		src.headerHint = "the file is valid UTF-8 but was read as GB18030: send encoding=utf-8 or leave the encoding out"
	}
	if _, err := f.Seek(int64(bom), io.SeekStart); err != nil {
		f.Close()
		return nil, fmt.Errorf("read import file: %w", err)
	}
	var r io.Reader = f
	if src.encoding == GB18030 {
		r = transform.NewReader(f, simplifiedchinese.GB18030.NewDecoder())
		// The decoder writes U+FFFD for bytes that are not GB18030.
		src.badText = func(s string) bool { return strings.ContainsRune(s, utf8.RuneError) }
		if src.badTextMsg == "" {
			src.badTextMsg = "contains bytes that are not valid GB18030 text"
		}
	} else {
		src.badText = func(s string) bool { return !utf8.ValidString(s) }
		if src.badTextMsg == "" {
			src.badTextMsg = "is not valid UTF-8 text; if the file was saved as GB18030 (Chinese Windows \"ANSI\"), send encoding=gb18030"
		}
	}
	br := bufio.NewReaderSize(r, 64<<10)
	cr := csv.NewReader(br)
	cr.Comma = sniffDelimiter(br)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	src.records = &csvRecords{f: f, r: cr}
	return src, nil
}

// detectEncoding reads f whole and reports its encoding: UTF-8 when it is
// valid UTF-8, else GB18030 when it decodes as GB18030 without a bad byte,
// else "". bom is the length of a byte order mark to skip. UTF-16 and binary
// files are refused.
func detectEncoding(f *os.File) (enc Encoding, bom int, err error) {
	head := make([]byte, 8<<10)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return "", 0, fmt.Errorf("read import file: %w", err)
	}
	head = head[:n]
	switch {
	case bytes.HasPrefix(head, []byte{0xFF, 0xFE}) || bytes.HasPrefix(head, []byte{0xFE, 0xFF}):
		return "", 0, fileProblem("the file is UTF-16 text (Excel's \"Unicode Text\"); save it as CSV UTF-8 or CSV")
	case bytes.Count(head, []byte{0})*100 > len(head):
		// Text has no NUL bytes; a stray one is reported at its cell.
		return "", 0, fileProblem("the file is not text (it is full of NUL bytes): send a CSV or XLSX file")
	case bytes.HasPrefix(head, []byte{0xEF, 0xBB, 0xBF}):
		bom = 3
	case bytes.HasPrefix(head, []byte{0x84, 0x31, 0x95, 0x33}):
		return GB18030, 4, nil
	}
	if _, err := f.Seek(int64(bom), io.SeekStart); err != nil {
		return "", 0, fmt.Errorf("read import file: %w", err)
	}
	valid, err := validUTF8(f)
	if err != nil {
		return "", 0, err
	}
	if valid {
		return UTF8, bom, nil
	}
	if bom == 0 {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return "", 0, fmt.Errorf("read import file: %w", err)
		}
		clean, err := cleanGB18030(f)
		if err != nil {
			return "", 0, err
		}
		if clean {
			return GB18030, 0, nil
		}
	}
	return "", bom, nil
}

// validUTF8 reports whether r is valid UTF-8, reading it in chunks.
func validUTF8(r io.Reader) (bool, error) {
	buf := make([]byte, 256<<10)
	carry := 0 // bytes of an incomplete rune at the end of the last chunk
	for {
		n, err := r.Read(buf[carry:])
		n += carry
		end := n
		if err == nil {
			// Hold back a rune cut by the chunk boundary.
			for i := n - 1; i >= 0 && i >= n-utf8.UTFMax; i-- {
				if utf8.RuneStart(buf[i]) {
					if !utf8.FullRune(buf[i:n]) {
						end = i
					}
					break
				}
			}
		}
		if !utf8.Valid(buf[:end]) {
			return false, nil
		}
		carry = copy(buf, buf[end:n])
		if errors.Is(err, io.EOF) {
			return carry == 0, nil
		}
		if err != nil {
			return false, fmt.Errorf("read import file: %w", err)
		}
	}
}

// cleanGB18030 reports whether r decodes as GB18030 without a bad byte.
func cleanGB18030(r io.Reader) (bool, error) {
	dec := transform.NewReader(r, simplifiedchinese.GB18030.NewDecoder())
	buf := make([]byte, 256<<10)
	for {
		n, err := dec.Read(buf)
		if bytes.ContainsRune(buf[:n], utf8.RuneError) {
			return false, nil
		}
		if errors.Is(err, io.EOF) {
			return true, nil
		}
		if err != nil {
			return false, fmt.Errorf("read import file: %w", err)
		}
	}
}

// sniffDelimiter picks tab when the first line has tabs and no commas.
func sniffDelimiter(br *bufio.Reader) rune {
	head, _ := br.Peek(br.Size())
	if i := bytes.IndexByte(head, '\n'); i >= 0 {
		head = head[:i]
	}
	if bytes.IndexByte(head, '\t') >= 0 && bytes.IndexByte(head, ',') < 0 {
		return '\t'
	}
	return ','
}

// csvRecords reads CSV rows, numbering them as a spreadsheet shows them:
// an empty line is an empty row, and a quoted cell spanning lines is one row.
type csvRecords struct {
	f       *os.File
	r       *csv.Reader
	row     int // row number of the last record
	endLine int // line on which the last record ended
}

func (c *csvRecords) next() (int, []string, error) {
	rec, err := c.r.Read()
	var pe *csv.ParseError
	switch {
	case errors.Is(err, io.EOF):
		return 0, nil, io.EOF
	case errors.As(err, &pe):
		c.row += pe.StartLine - c.endLine
		c.endLine = pe.Line
		msg := pe.Err.Error()
		if errors.Is(pe.Err, csv.ErrBareQuote) {
			msg = `a quote (") inside a cell that does not start with one; put the whole cell in quotes and double the inner quote ("")`
		} else if errors.Is(pe.Err, csv.ErrQuote) {
			msg = `a quoted cell is not closed, or has text after its closing quote`
		}
		return c.row, nil, &rowError{row: c.row, msg: fmt.Sprintf("CSV syntax error on line %d, character %d: %s", pe.Line, pe.Column, msg)}
	case err != nil:
		return 0, nil, fmt.Errorf("read import file: %w", err)
	}
	line, _ := c.r.FieldPos(0)
	last, _ := c.r.FieldPos(len(rec) - 1)
	c.row += line - c.endLine
	c.endLine = last + strings.Count(rec[len(rec)-1], "\n")
	return c.row, rec, nil
}

func (c *csvRecords) close() error { return c.f.Close() }

// openXLSX opens the first sheet of a workbook.
func openXLSX(path string) (src *source, err error) {
	defer func() {
		// A damaged workbook must be the sender's problem, whatever the
		// parser does with it.
		if r := recover(); r != nil {
			src, err = nil, fileProblem("the file is not a readable XLSX workbook (%v)", r)
		}
	}()
	wb, err := excelize.OpenFile(path, excelize.Options{UnzipSizeLimit: 2 << 30, UnzipXMLSizeLimit: 16 << 20})
	if err != nil {
		return nil, fileProblem("the file is not a readable XLSX workbook: %v", err)
	}
	sheets := wb.GetSheetList()
	if len(sheets) == 0 {
		wb.Close()
		return nil, fileProblem("the workbook has no worksheet")
	}
	rows, err := wb.Rows(sheets[0])
	if err != nil {
		wb.Close()
		return nil, fileProblem("the first worksheet %q cannot be read: %v", sheets[0], err)
	}
	return &source{format: XLSX, records: &xlsxRecords{wb: wb, rows: rows},
		badText:    func(s string) bool { return !utf8.ValidString(s) },
		badTextMsg: "is not valid text"}, nil
}

// xlsxRecords reads the rows of a worksheet; cells are raw values (dates
// as serial numbers, numbers unformatted), so that nothing depends on the
// cell formats of the sender's Excel.
type xlsxRecords struct {
	wb   *excelize.File
	rows *excelize.Rows
	row  int
}

func (x *xlsxRecords) next() (row int, cells []string, err error) {
	defer func() {
		if r := recover(); r != nil {
			row, cells, err = 0, nil, fault.Invalids("the file cannot be read", []fault.Problem{{Row: x.row, Message: fmt.Sprintf("the worksheet is damaged here (%v)", r)}})
		}
	}()
	if !x.rows.Next() {
		if err := x.rows.Error(); err != nil {
			return 0, nil, fault.Invalids("the file cannot be read", []fault.Problem{{Row: x.row + 1, Message: fmt.Sprintf("the worksheet is damaged here: %v", err)}})
		}
		return 0, nil, io.EOF
	}
	x.row++
	cells, err = x.rows.Columns(excelize.Options{RawCellValue: true})
	if err != nil {
		return 0, nil, fault.Invalids("the file cannot be read", []fault.Problem{{Row: x.row, Message: fmt.Sprintf("the worksheet is damaged here: %v", err)}})
	}
	return x.row, cells, nil
}

func (x *xlsxRecords) close() error {
	x.rows.Close()
	return x.wb.Close()
}
