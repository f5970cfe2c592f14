package web

import (
	"io"
	"mime/multipart"
	"net/textproto"
	"path/filepath"
	"strings"

	"github.com/spotcheck-gov/spotcheck/internal/disclosure"
	"github.com/spotcheck-gov/spotcheck/internal/inspection"
)

var chinaTZ = disclosure.China

// chartData is what console.js gives ECharts: one bar per county, one
// stacked series per stage, and the overdue counts beside them.
type chartData struct {
	Counties []string      `json:"counties"`
	Series   []chartSeries `json:"series"`
	Overdue  []int         `json:"overdue"`
}

type chartSeries struct {
	Name string `json:"name"`
	Data []int  `json:"data"`
}

func chartOf(d dashboardData, names map[string]string) chartData {
	ch := chartData{Counties: []string{}, Series: []chartSeries{}, Overdue: []int{}}
	for _, cp := range d.Counties {
		name := names[cp.County]
		if name == "" {
			name = cp.County
		}
		ch.Counties = append(ch.Counties, name)
		ch.Overdue = append(ch.Overdue, sum(cp.Overdue))
	}
	for _, st := range inspection.Stages {
		s := chartSeries{Name: inspection.StageNames[st], Data: make([]int, len(d.Counties))}
		any := false
		for i, cp := range d.Counties {
			s.Data[i] = cp.Stages[st]
			any = any || s.Data[i] > 0
		}
		if any {
			ch.Series = append(ch.Series, s)
		}
	}
	return ch
}

// uploadBody streams a file as the multipart body the API's import reads
// (the field "file"), without holding it in memory. The caller closes it,
// which also ends the copy when the API stopped reading early.
func uploadBody(name string, f io.Reader) (io.ReadCloser, string, error) {
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="file"; filename="`+strings.NewReplacer(`"`, "", "\r", "", "\n", "").Replace(filepath.Base(name))+`"`)
		h.Set("Content-Type", "application/octet-stream")
		part, err := mw.CreatePart(h)
		if err == nil {
			_, err = io.Copy(part, f)
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	return pr, mw.FormDataContentType(), nil
}
