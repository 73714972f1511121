package domain

import (
	"regexp"
	"strings"
)

// Words is one text a person reads, in the dashboard's two languages: English and Brazilian
// Portuguese (written for a marketer who sells online in Brazil, not word for word). An
// adapter declares its words in its spec (dest.Spec, spend.Spec), so the dashboard names no
// platform itself.
type Words struct {
	EN, PT string
}

// In returns the words in the language tag asks for: "pt-BR" gives Portuguese, anything else
// English.
func (w Words) In(tag string) string {
	if tag == "pt-BR" {
		return w.PT
	}
	return w.EN
}

var verbRe = regexp.MustCompile(`%[-+# 0-9.]*[a-zA-Z%]`)

// Lacks says what w lacks for a person to read it in both languages: "lacks a language", or
// "takes other arguments in English and Portuguese" when the fmt verbs differ; empty when
// complete.
func (w Words) Lacks() string {
	if strings.TrimSpace(w.EN) == "" || strings.TrimSpace(w.PT) == "" {
		return "lacks a language"
	}
	if en, pt := verbRe.FindAllString(w.EN, -1), verbRe.FindAllString(w.PT, -1); strings.Join(en, "") != strings.Join(pt, "") {
		return "takes other arguments in English and Portuguese"
	}
	return ""
}
