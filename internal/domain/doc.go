// Package domain holds Hub's vocabulary: order statuses and their lifecycle, money in minor
// units of an ISO 4217 currency, event names, buyer identity and its normalisation per platform,
// and the field errors every layer reports. It imports only the standard library, so adapters,
// the store and destinations can all speak it without depending on one another.
package domain
