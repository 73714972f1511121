// Package all lists every spend source Hub ships. The app builds it once at start-up and hands
// it to the importer; adding a platform is one line here.
package all

import (
	"github.com/hubtrack/hub/internal/spend"
	"github.com/hubtrack/hub/internal/spend/googleads"
	"github.com/hubtrack/hub/internal/spend/meta"
	"github.com/hubtrack/hub/internal/spend/tiktok"
)

// Sources returns every shipped spend source by platform, each constructed with the
// operator's env (outbound client, clock, its operator settings such as HUB_META_GRAPH_URL).
func Sources(env spend.Env) map[spend.Platform]spend.Source {
	list := []spend.Source{
		meta.New(env),
		googleads.New(env),
		tiktok.New(env),
	}
	m := make(map[spend.Platform]spend.Source, len(list))
	for _, s := range list {
		m[s.Platform()] = s
	}
	return m
}

// Operator returns the operator settings the shipped sources read, each once; app's
// DeclaredSettings adds those no destination declares to internal/config's table.
func Operator() []spend.OperatorSetting {
	return []spend.OperatorSetting{meta.OperatorGraphURL, meta.OperatorAPIVersion,
		googleads.OperatorURL, googleads.OperatorAPIVersion, tiktok.OperatorAPIURL}
}
