package dest

import "math/bits"

// Keys is the set of identifiers one sent event carried (the buyer's keys a platform matches
// on), as a bit set. The bits are stored (deliveries.keys): never renumber one, only append.
type Keys uint32

// The identifier keys, named as Meta names them; other destinations report their equivalent
// (TikTok's email is KeyEmail, Google's gclid is KeyClickID).
const (
	KeyEmail      Keys = 1 << iota // em
	KeyPhone                       // ph
	KeyFirstName                   // fn
	KeyLastName                    // ln
	KeyCity                        // ct
	KeyState                       // st
	KeyZip                         // zp
	KeyCountry                     // country
	KeyBirthDate                   // db
	KeyGender                      // ge
	KeyExternalID                  // external_id
	KeyFBC                         // fbc (Meta's click id)
	KeyFBP                         // fbp (Meta's browser id)
	KeyIP                          // client_ip_address
	KeyUserAgent                   // client_user_agent
	KeyClickID                     // another platform's click id: Google's gclid, TikTok's ttclid
	KeyBrowserID                   // another platform's browser id: TikTok's _ttp, GA4's client id
	KeyGBRAID                      // Google's gbraid (an iOS app-to-web click)
	KeyWBRAID                      // Google's wbraid (an iOS web-to-web click)

	keyEnd
)

// KeyNames are the keys' names, in their order (the API's and the dashboard's).
var KeyNames = []string{"em", "ph", "fn", "ln", "ct", "st", "zp", "country", "db", "ge", "external_id",
	"fbc", "fbp", "ip", "ua", "click_id", "browser_id", "gbraid", "wbraid"}

// AllKeys lists every key, in KeyNames' order.
func AllKeys() []Keys {
	out := make([]Keys, 0, len(KeyNames))
	for k := Keys(1); k < keyEnd; k <<= 1 {
		out = append(out, k)
	}
	return out
}

// Name is a single key's name ("em"), or "" for a set of several or none.
func (k Keys) Name() string {
	if bits.OnesCount32(uint32(k)) != 1 || k >= keyEnd {
		return ""
	}
	return KeyNames[bits.TrailingZeros32(uint32(k))]
}

// Names lists the keys in k, in KeyNames' order.
func (k Keys) Names() []string {
	var out []string
	for _, key := range AllKeys() {
		if k&key != 0 {
			out = append(out, key.Name())
		}
	}
	return out
}

// With adds key to k when present is true.
func (k Keys) With(key Keys, present bool) Keys {
	if present {
		return k | key
	}
	return k
}

// KeyReporter is a Sender that can say which identifier keys it sends for an event: exactly
// the keys its builder puts in the platform's payload. The delivery worker records them on each
// delivered event. ok is false when the builder refuses the event.
type KeyReporter interface {
	KeysOf(e Event) (k Keys, ok bool)
}

// KeysOf implements KeyReporter when the destination gives Keys: it converts e as Send does
// and reads the keys off the result.
func (b Batch[T]) KeysOf(e Event) (Keys, bool) {
	if b.Keys == nil {
		return 0, false
	}
	d, ee := b.Convert(0, e, b.Now())
	if ee != nil {
		return 0, false
	}
	return b.Keys(d), true
}
