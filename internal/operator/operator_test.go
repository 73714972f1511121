package operator

import "testing"

func TestSettingDefault(t *testing.T) {
	t.Parallel()
	s := Setting{Env: "HUB_EXAMPLE_URL", Default: "https://api.example.com"}
	if got := (Env{}).Setting(s); got != s.Default {
		t.Errorf("unset: %q, want the default", got)
	}
	if got := (Env{Operator: map[string]string{s.Env: ""}}).Setting(s); got != s.Default {
		t.Errorf("empty: %q, want the default", got)
	}
	if got := (Env{Operator: map[string]string{s.Env: "http://127.0.0.1:9"}}).Setting(s); got != "http://127.0.0.1:9" {
		t.Errorf("set: %q", got)
	}
}

func TestCheckBaseURL(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in          string
		base, plain bool
	}{
		{"https://graph.facebook.com/", true, true},
		{"http://127.0.0.1:9", true, true},
		{"https://x.example/?a=1", true, false},
		{"https://user:pw@x.example", true, false},
		{"ftp://x.example", false, false},
		{"/relative", false, false},
		{"", false, false},
	} {
		v, err := CheckBaseURL(c.in)
		if (err == nil) != c.base || (err == nil && v[len(v)-1] == '/') {
			t.Errorf("CheckBaseURL(%q) = %q, %v", c.in, v, err)
		}
		v, err = CheckPlainBaseURL(c.in)
		if (err == nil) != c.plain || (err == nil && v[len(v)-1] == '/') {
			t.Errorf("CheckPlainBaseURL(%q) = %q, %v", c.in, v, err)
		}
	}
}
