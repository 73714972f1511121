package postgres_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/store"
	"github.com/hubtrack/hub/internal/store/postgres"
	"github.com/hubtrack/hub/internal/testenv"
	"github.com/hubtrack/hub/internal/testenv/teststore"
)

// TestVerifiedTLS: with sslmode=verify-full and sslrootcert (what Terraform's DATABASE_URL
// uses on AWS), Hub connects to a server whose certificate chains to the given CA and names the
// host, and refuses one signed by another CA or issued for another name. sslmode=require, by
// contrast, accepts the impostor: it encrypts without checking who answers.
func TestVerifiedTLS(t *testing.T) {
	t.Parallel()
	dir, run, own := tlsClusterDir(t)
	ca, caKey := newCA(t, "Hub test CA")
	wrongCA, _ := newCA(t, "Someone else's CA")
	cert, key := newServerCert(t, ca, caKey, "localhost")
	for name, b := range map[string][]byte{"root.crt": pemCert(ca), "wrong.crt": pemCert(wrongCA), "server.crt": pemCert(cert), "server.key": key} {
		// The key must belong to the user the server runs as, readable by it alone.
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := own(p); err != nil {
			t.Fatal(err)
		}
	}

	port := freePort(t)
	data := filepath.Join(dir, "data")
	if out, err := run("initdb", "-D", data, "-A", "trust", "-U", "postgres", "--no-sync"); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	opts := fmt.Sprintf("-p %s -k %s -c listen_addresses=127.0.0.1 -c max_connections=20 -c ssl=on -c ssl_cert_file=%s -c ssl_key_file=%s",
		port, dir, filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key"))
	t.Cleanup(func() { _, _ = run("pg_ctl", "-D", data, "-m", "immediate", "-w", "stop") })
	if out, err := run("pg_ctl", "-D", data, "-o", opts, "-l", filepath.Join(dir, "log"), "-w", "-t", "60", "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "log"))
		t.Fatalf("pg_ctl start: %v\n%s\n%s", err, out, log)
	}

	url := func(host, query string) string {
		return "postgres://postgres@" + host + ":" + port + "/postgres?" + query
	}
	for _, tc := range []struct {
		name, url string
		ok        bool
		refusal   string
	}{
		{"verify-full with the server's CA", url("localhost", "sslmode=verify-full&sslrootcert="+filepath.Join(dir, "root.crt")), true, ""},
		{"verify-full with another CA", url("localhost", "sslmode=verify-full&sslrootcert="+filepath.Join(dir, "wrong.crt")), false, "certificate signed by unknown authority"},
		{"verify-full with a name the certificate lacks", url("127.0.0.1", "sslmode=verify-full&sslrootcert="+filepath.Join(dir, "root.crt")), false, "127.0.0.1"},
		{"verify-full with no CA file", url("localhost", "sslmode=verify-full&sslrootcert="+filepath.Join(dir, "absent.crt")), false, "absent.crt"},
		// What DATABASE_URL said before: any certificate at all is accepted. (With an sslrootcert,
		// require checks the CA like verify-ca, as libpq does, but never the name.)
		{"require checks nothing", url("localhost", "sslmode=require"), true, ""},
	} {
		// DATABASE_READ_URL (the read replica) is parsed and verified exactly as DATABASE_URL.
		for opener, ping := range map[string]func(string) error{"primary": ping, "read replica": pingReplica} {
			t.Run(tc.name+"/"+opener, func(t *testing.T) {
				err := ping(tc.url)
				switch {
				case tc.ok && err != nil:
					t.Fatalf("want a connection, got %v", err)
				case !tc.ok && err == nil:
					t.Fatalf("connected; want the server refused")
				case !tc.ok && !strings.Contains(err.Error(), tc.refusal):
					t.Fatalf("refused for another reason: %v (want %q)", err, tc.refusal)
				}
			})
		}
	}
}

func ping(url string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := postgres.Open(ctx, url, store.WithRiverConfig(teststore.QuietRiver))
	if err != nil {
		return err
	}
	defer s.Close()
	return s.Ping(ctx)
}

func pingReplica(url string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	r, err := postgres.OpenReplica(ctx, url)
	if err != nil {
		return err
	}
	defer r.Close()
	return r.Ping(ctx)
}

// tlsClusterDir makes a directory for a PostgreSQL cluster of the test's own and returns a
// function running a server binary in it, as the postgres user when the test runs as root
// (PostgreSQL refuses root), and one giving a file to that user. Without the server binaries the test is skipped, except under
// CI=true, where .ci/run installs them.
func tlsClusterDir(t *testing.T) (dir string, run func(name string, args ...string) (string, error), own func(path string) error) {
	t.Helper()
	missing := func(what string, err error) {
		t.Helper()
		testenv.Missing(t, "%s: %v", what, err)
	}
	bin := ""
	if m, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb"); len(m) > 0 {
		bin = filepath.Dir(m[len(m)-1])
	} else if p, err := exec.LookPath("initdb"); err == nil {
		bin = filepath.Dir(p)
	} else {
		missing("PostgreSQL's server binaries (initdb, pg_ctl)", err)
	}
	own = func(string) error { return nil }
	dir, err := os.MkdirTemp("", "tlspg")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	var asUser []string
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			missing("a postgres user to run PostgreSQL as", err)
		}
		runuser, err := exec.LookPath("runuser")
		if err != nil {
			missing("runuser", err)
		}
		asUser = []string{runuser, "-u", "postgres", "--"}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
		own = func(path string) error { return os.Chown(path, uid, gid) }
	}
	run = func(name string, args ...string) (string, error) {
		argv := append(append(append([]string{}, asUser...), filepath.Join(bin, name)), args...)
		out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
		return string(out), err
	}
	return dir, run, own
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

func newCA(t *testing.T, name string) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c, key
}

func newServerCert(t *testing.T, ca *x509.Certificate, caKey *ecdsa.PrivateKey, host string) (*x509.Certificate, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: host},
		DNSNames:     []string{host},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return c, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
}

func pemCert(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}
