package ingest

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// parseCollectReference is ParseCollect as it was before the single pass: encoding/json only.
func parseCollectReference(body []byte, lim Limits, now time.Time) (*CollectRequest, error) {
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return ParseCollect(body, lim, now) // answered before any decoding
	}
	return parseCollectReflect(trimmed, lim, now)
}

// collectDiffCases are bodies where encoding/json's behaviour is easy to miss: they must give the
// same answer both ways, whichever path the single pass takes.
var collectDiffCases = []string{
	`{}`, `{"events":null}`, `{"events":[]}`, `{"events":{}}`, `{"events":"x"}`, `{"events":1}`,
	`{"key":1,"type":"lead"}`, `{"key":null,"type":"lead"}`, `{"key":"a\u00e9\n","type":"lead"}`,
	`{"key":"k","key":"j","type":"lead"}`, `{"events":[{"type":"lead"}],"events":null}`,
	`{"events":null,"events":[{"type":"lead"}]}`, `{"KEY":"k","type":"lead"}`, `{"Events":[{"type":"lead"}]}`,
	`{"Type":"lead"}`, `{"TYPE":"lead","type":"page_view"}`, `{"type":"lead","Type":"custom"}`,
	`{"ty\u0070e":"lead"}`, `{"\u017ftype":"lead"}`, `{"fbcli\u0064":"x","type":"lead"}`,
	`{"type":"lead","gbraid":"0AAAAA-gb","wbraid":"Wb.1~x"}`, `{"type":"lead","GBRAID":"x","Wbraid":"y"}`,
	`{"gbrai\u0064":"x","wbraid":null,"type":"lead"}`, `{"type":"lead","gbraid":5}`, `{"type":"lead","wbraid":"a b"}`,
	`{"type":"lead","gbraid":"a","gbraid":"b","wbraid":{"x":1}}`,
	`{"type":"lead","type":null}`, `{"type":"lead","type":"custom","name":"n"}`,
	`{"type":5}`, `{"type":true}`, `{"type":{}}`, `{"type":[]}`, `{"type":"lead","webdriver":"yes"}`,
	`{"type":"lead","webdriver":true,"webdriver":null}`, `{"type":"lead","webdriver":1}`,
	`{"type":"purchase","pixel":true}`, `{"type":"lead","pixel":"yes"}`, `{"type":"lead","pixel":true,"pixel":null}`,
	`{"type":"lead","PIXEL":true}`, `{"type":"lead","pixel":0}`,
	`{"type":"lead","utm":"x"}`, `{"type":"lead","utm":[]}`, `{"type":"lead","utm":null}`,
	`{"type":"lead","utm":{"source":1}}`, `{"type":"lead","utm":{"source":"a"},"utm":{"medium":"b"}}`,
	`{"type":"lead","utm":{"Source":"a"}}`, `{"type":"lead","utm":{"x":{"y":[1,2]},"term":"t"}}`,
	`{"type":"lead","props":null}`, `{"type":"lead","props":[1]}`, `{"type":"lead","props":{"a":1},"props":null}`,
	`{"type":"lead","props":"s"}`, `{"type":"lead","occurred_at":null}`, `{"type":"lead","occurred_at":true}`,
	`{"type":"lead","occurred_at":"2026-03-01T11:59:00Z"}`, `{"type":"lead","occurred_at":"2026-03-01T11:59:00\u005a"}`,
	`{"type":"lead","occurred_at":1772366400000.5}`, `{"type":"lead","occurred_at":-0}`, `{"type":"lead","occurred_at":1e3}`,
	`{"type":"lead","occurred_at":01}`, `{"type":"lead","occurred_at":1.}`, `{"type":"lead","occurred_at":-}`,
	`{"type":"lead","occurred_at":1E+2}`, `{"type":"lead","name":"\ud800"}`, `{"type":"custom","name":"\ud83d\ude00"}`,
	"{\"type\":\"custom\",\"name\":\"a\xffb\"}", "{\"type\":\"custom\",\"name\":\"a\tb\"}", `{"type":"custom","name":"a\tb"}`,
	`{"type":"custom","name":"a\qb"}`, `{"type":"custom","name":"a\u12"}`, `{"type":"lead"} `, `{"type":"lead"} x`,
	`{"type":"lead"}}`, `{"type":"lead",}`, `{"type" "lead"}`, `{"type":"lead" "name":"x"}`, `{"type":"lead"`,
	` {"type":"lead"}`, `{ "type" : "lead" , "email" : "a@b" }`, "{\"type\":\"lead\",\"x\":[[[[[[[[[[[[]]]]]]]]]]]]}",
	`{"type":"lead","x":tru}`, `{"type":"lead","x":nul}`, `{"type":"lead","x":[1,]}`, `{"type":"lead","x":{"a"}}`,
	`{"type":"lead","é":1}`, `{"events":[1,"x",null,[],{"type":"lead"}]}`, `{"events":[{"type":5},{"type":"lead"}]}`,
	`{"events":[{"type":"lead","utm":{"term":7}},{"type":"page_view","url":"https://a.example/"}]}`,
	`{"events":[{"type":"lead"},]}`, `{"events":[{"type":"lead"} {"type":"lead"}]}`, `{"events":[ {"type":"lead"} , {} ]}`,
	`{"type":5,"events":[{"type":"lead"}]}`, `{"utm":"x","events":[{"type":"lead"}]}`, `{"key":"k","events":[{"key":"x","KEY":"y","type":"lead"}]}`,
	`{"events":[{"type":"lead","events":[1]}]}`, `{"events":[{"type":"lead"}],"key":5}`, `{"events":[{"type":"lead"}],"key":"\ud800"}`,
	`{"events":[{"type":"lead"}], "key":"k"}` + "\n",
	`{"events":[` + strings.Repeat(`{"type":"lead"},`, 100) + `{"type":"lead"}]}`,
	`{"events":[` + strings.Repeat(`{"type":"lead"},`, 100) + `{"type":"lead"}`,
	`{"type":"lead","x":` + strings.Repeat("[", 600) + strings.Repeat("]", 600) + `}`,
	`{"type":"lead","x":` + strings.Repeat("[", 11000) + strings.Repeat("]", 11000) + `}`,
}

func collectDiffSeeds(t testing.TB) [][]byte {
	t.Helper()
	files, err := filepath.Glob("testdata/collect/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no seeds: %v", err)
	}
	var out [][]byte
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	for _, c := range collectDiffCases {
		out = append(out, []byte(c))
	}
	out = append(out, benchBatch(1), benchBatch(10))
	// The fuzz corpus kept under testdata/fuzz, when there is one.
	corpus, _ := filepath.Glob("testdata/fuzz/FuzzParseCollect*/*")
	for _, p := range corpus {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if v, ok := fuzzCorpusBytes(b); ok {
			out = append(out, v)
		}
	}
	return out
}

// fuzzCorpusBytes reads a "go test fuzz v1" file holding one []byte.
func fuzzCorpusBytes(b []byte) ([]byte, bool) {
	_, rest, ok := bytes.Cut(b, []byte("\n"))
	if !ok {
		return nil, false
	}
	s := strings.TrimSpace(string(rest))
	if !strings.HasPrefix(s, "[]byte(") || !strings.HasSuffix(s, ")") {
		return nil, false
	}
	v, err := strconv.Unquote(s[len("[]byte(") : len(s)-1])
	return []byte(v), err == nil
}

var diffLimits = Limits{MaxEvents: 100, MaxFutureSkew: 5 * time.Minute, MaxEventAge: 72 * time.Hour}
var diffNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func checkSameAsReference(t *testing.T, body []byte) {
	t.Helper()
	got, gotErr := ParseCollect(body, diffLimits, diffNow)
	want, wantErr := parseCollectReference(body, diffLimits, diffNow)
	if !reflect.DeepEqual(gotErr, wantErr) {
		t.Fatalf("%q: error %#v, encoding/json gives %#v", body, gotErr, wantErr)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%q:\n got %+v\nwant %+v", body, got, want)
	}
}

// TestParseCollectSameAsEncodingJSON: the single pass gives exactly what the encoding/json
// parser gives (request, events, errors and their texts) on the seeds, the fuzz corpus and bodies
// chosen for encoding/json's corners.
func TestParseCollectSameAsEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, body := range collectDiffSeeds(t) {
		checkSameAsReference(t, body)
	}
}

// TestParseCollectFastPathTaken: ordinary bodies are decoded by the single pass, not handed
// to encoding/json (else the single pass would be correct but useless).
func TestParseCollectFastPathTaken(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"batch.json", "single.json", "partial.json", "braids.json"} {
		b, err := os.ReadFile(filepath.Join("testdata/collect", name))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := parseCollectFast(bytes.TrimSpace(b), diffLimits, diffNow); err == errNotFast {
			t.Errorf("%s went to encoding/json", name)
		}
	}
	for _, b := range [][]byte{benchBatch(1), benchBatch(10), []byte(`{"key":"k","events":[{"type":"lead","email":"é@x","name":"a\"b"}]}`)} {
		if _, err := parseCollectFast(b, diffLimits, diffNow); err == errNotFast {
			t.Errorf("%s went to encoding/json", b)
		}
	}
}

// FuzzParseCollectSameAsEncodingJSON: whatever the body, the single pass and encoding/json agree.
func FuzzParseCollectSameAsEncodingJSON(f *testing.F) {
	for _, b := range collectDiffSeeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkSameAsReference(t, body)
	})
}
