package store

// GatewaySecretAD is the associated data that binds a sealed gateway secret to its row, so a
// ciphertext copied to another source or provider does not open.
func GatewaySecretAD(sourceID, provider string) []byte {
	return []byte("gateway_secret:" + sourceID + ":" + provider)
}

// CredentialsAD binds sealed destination credentials to their destination.
func CredentialsAD(destinationID string) []byte {
	return []byte("destination_credentials:" + destinationID)
}
