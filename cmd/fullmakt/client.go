package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/fullmakt/fullmakt/delegation"
	"github.com/fullmakt/fullmakt/idp"
)

// clientsFileName is the clients file's name in the data directory.
const clientsFileName = "clients.json"

// maxClientSecretGrace bounds how long a rotated secret keeps working: long enough
// to roll the new one out, short enough that two secrets are not the normal state.
const maxClientSecretGrace = 30 * 24 * time.Hour

// runClient is `fullmakt client add|list|show|rotate-secret|remove`: it edits the
// clients file, which the server reloads when it changes.
func runClient(ctx context.Context, c cli, args []string) int {
	return subcommands(ctx, c, "client", args, map[string]func(context.Context, cli, []string) int{
		"add":           runClientAdd,
		"list":          runClientList,
		"show":          runClientShow,
		"rotate-secret": runClientRotateSecret,
		"remove":        runClientRemove,
	}, `Usage:
  fullmakt client add ID [flags]                  declare a client; prints its secret once
  fullmakt client list [flags]                    list the clients
  fullmakt client show ID [flags]                 print a client as JSON, without secrets
  fullmakt client rotate-secret ID [--grace 24h]  give a client a new secret
  fullmakt client remove ID [flags]               remove a client

The clients are in one JSON file, DIR/clients.json (--data DIR, or --clients FILE),
which a running server reloads when it changes. Secrets are generated, never chosen,
and the file keeps only their SHA-256 hashes. See docs/OPERATIONS.md.
`)
}

// clientsFileFlags are the flags naming the clients file.
type clientsFileFlags struct {
	data, clients string
}

func addClientsFileFlags(flags *flagSet) *clientsFileFlags {
	f := &clientsFileFlags{data: defaultDataDir}
	flags.StringVar(&f.data, "data", f.data, "the data directory `DIR`; the clients file is DIR/"+clientsFileName+" unless --clients says otherwise")
	flags.StringVar(&f.clients, "clients", "", "the clients `FILE` (default DIR/"+clientsFileName+")")
	return f
}

// path returns the clients file.
func (f *clientsFileFlags) path() string {
	if f.clients != "" {
		return f.clients
	}
	return filepath.Join(f.data, clientsFileName)
}

// clientListFlag is a flag that may be repeated, each value a comma-separated list.
type clientListFlag []string

func (l *clientListFlag) String() string { return strings.Join(*l, ",") }

func (l *clientListFlag) Set(v string) error {
	for s := range strings.SplitSeq(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

// readClients returns the clients in the file at path: none when it does not
// exist. A file that does not load is an error: fix it before changing it.
func readClients(path string) ([]idp.Client, bool, error) {
	cs, err := idp.LoadClients(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return cs.All(), true, nil
}

// clientFailed prints err, one line per joined error, and returns exitError.
func clientFailed(c cli, command string, err error) int {
	errs := unjoin(err)
	if len(errs) == 1 {
		fmt.Fprintf(c.stderr, "fullmakt %s: %v\n", command, err)
		return exitError
	}
	fmt.Fprintf(c.stderr, "fullmakt %s:\n", command)
	for _, e := range errs {
		fmt.Fprintf(c.stderr, "  - %v\n", e)
	}
	return exitError
}

// clientIDArg returns the one argument, a client id.
func clientIDArg(c cli, command string, args []string) (string, bool) {
	if len(args) != 1 {
		fmt.Fprintf(c.stderr, "fullmakt %s: name one client id, got %q\n", command, args)
		return "", false
	}
	return args[0], true
}

func runClientAdd(_ context.Context, c cli, args []string) int {
	const command = "client add"
	var (
		cl                                                   idp.Client
		grants, scopes, redirects, logoutRedirects           clientListFlag
		audiences, services, detailsTypes                    clientListFlag
		jwksFile, organization                               string
		pid, requirePAR, detailedReasons                     bool
		authMethod, jwksURI, signingAlg, accessTokenLifetime string
	)
	flags := newFlagSet(command, "fullmakt client add ID [flags]",
		"Declares the client ID in the clients file. A client_secret_basic client (the\n"+
			"default) gets a generated secret, printed once on stdout: the file keeps only\n"+
			"its hash. Without --grant-type a client with a redirect URI (or a public one)\n"+
			"gets authorization_code and refresh_token, and any other client_credentials;\n"+
			"without --scope an authorization_code client gets openid (and offline_access\n"+
			"with refresh_token). Every problem is listed, and nothing is written, when the\n"+
			"client is not valid.")
	flags.interspersed = true
	file := addClientsFileFlags(flags)
	flags.StringVar(&cl.Name, "name", "", "the client's `NAME`, as people see it")
	flags.StringVar(&organization, "organization", "", "the organisation `NUMBER` of whoever runs the client, which receives the consents it collects")
	flags.StringVar(&authMethod, "auth-method", idp.AuthMethodSecretBasic, "how the client authenticates: `METHOD` client_secret_basic, private_key_jwt or none (a public client)")
	flags.fs.Var(&grants, "grant-type", "a `GRANT` type it may use: authorization_code, refresh_token, client_credentials, urn:ietf:params:oauth:grant-type:token-exchange (repeat, or separate with commas)")
	flags.fs.Var(&scopes, "scope", "a `SCOPE` it may request (repeat, or separate with commas)")
	flags.fs.Var(&redirects, "redirect-uri", "a redirect `URI`, matched exactly (repeat)")
	flags.fs.Var(&logoutRedirects, "post-logout-redirect-uri", "a `URI` to return to after logout (repeat)")
	flags.fs.Var(&audiences, "audience", "an `AUDIENCE` it may request tokens for, such as an agency's API (repeat)")
	flags.fs.Var(&services, "service", "a `SERVICE` id from the policy catalogue it may ask about; * is any (repeat)")
	flags.StringVar(&jwksURI, "jwks-uri", "", "private_key_jwt: the `URL` of its JWK Set")
	flags.StringVar(&jwksFile, "jwks-file", "", "private_key_jwt: a `FILE` with its public JWK Set (or one JWK), copied into the clients file")
	flags.StringVar(&signingAlg, "signing-alg", "", "private_key_jwt: its assertions' `ALG`, ES256 (the default), RS256 or PS256")
	flags.BoolVar(&pid, "pid", false, "it may receive national identity numbers (a pid claim)")
	flags.BoolVar(&requirePAR, "require-par", false, "it must push its authorization requests (PAR, RFC 9126)")
	flags.BoolVar(&detailedReasons, "detailed-reasons", false, "it may see every reason of a deny")
	flags.fs.Var(&detailsTypes, "authorization-details-type", "an authorization details `TYPE` it may request: representation or consent (repeat)")
	flags.StringVar(&accessTokenLifetime, "access-token-lifetime", "", "its access tokens' `DURATION` (1m to 24h) instead of the server's")
	if code, done := flags.parse(c, args); done {
		return code
	}
	id, ok := clientIDArg(c, command, flags.Args())
	if !ok {
		return exitUsage
	}
	path := file.path()
	list, _, err := readClients(path)
	if err != nil {
		return clientFailed(c, command, err)
	}
	if slices.ContainsFunc(list, func(x idp.Client) bool { return x.ID == id }) {
		fmt.Fprintf(c.stderr, "fullmakt %s: client %q already exists in %s (rotate its secret, or remove it first)\n", command, id, path)
		return exitError
	}

	cl.ID = id
	cl.Organization = delegation.PartyID(organization)
	cl.TokenEndpointAuthMethod = authMethod
	cl.GrantTypes = grants
	if len(cl.GrantTypes) == 0 {
		if len(redirects) > 0 || authMethod == idp.AuthMethodNone {
			cl.GrantTypes = []string{"authorization_code", "refresh_token"}
		} else {
			cl.GrantTypes = []string{"client_credentials"}
		}
	}
	cl.Scopes = scopes
	if len(cl.Scopes) == 0 && slices.Contains(cl.GrantTypes, "authorization_code") {
		cl.Scopes = []string{"openid"}
		if slices.Contains(cl.GrantTypes, "refresh_token") {
			cl.Scopes = append(cl.Scopes, "offline_access")
		}
	}
	cl.RedirectURIs, cl.PostLogoutRedirectURIs = redirects, logoutRedirects
	cl.Audiences, cl.Services, cl.AuthorizationDetailsTypes = audiences, services, detailsTypes
	cl.PID, cl.RequirePAR, cl.DetailedReasons = pid, requirePAR, detailedReasons
	cl.JWKSURI, cl.TokenEndpointAuthSigningAlg, cl.AccessTokenLifetime = jwksURI, signingAlg, accessTokenLifetime
	if authMethod == idp.AuthMethodPrivateKeyJWT && signingAlg == "" {
		cl.TokenEndpointAuthSigningAlg = "ES256"
	}
	if jwksFile != "" {
		raw, err := readJWKSFile(jwksFile)
		if err != nil {
			return invalid(c, command, fmt.Errorf("--jwks-file: %w", err))
		}
		cl.JWKS = raw
	}
	var secret string
	if authMethod == idp.AuthMethodSecretBasic {
		if secret, err = idp.NewSecret(); err != nil {
			return clientFailed(c, command, err)
		}
		cl.SecretHash = idp.HashSecret(secret)
	}
	if err := cl.Validate(); err != nil {
		return invalid(c, command, err)
	}
	if err := writeClients(path, append(list, cl)); err != nil {
		return clientFailed(c, command, err)
	}
	fmt.Fprintf(c.stdout, "added client %q (%s) to %s\n", id, authMethod, path)
	if secret != "" {
		printSecret(c, id, secret)
	}
	return exitOK
}

// printSecret prints a new secret: the only time anyone sees it.
func printSecret(c cli, id, secret string) {
	fmt.Fprintf(c.stdout, "client_id:     %s\nclient_secret: %s\n", id, secret)
	fmt.Fprintln(c.stdout, "Store the secret now: it will not be shown again (the file keeps only its hash).")
}

// readJWKSFile returns the JWK Set in the file, compacted: a set as it is, or a
// single JWK as a set of one.
func readJWKSFile(path string) (json.RawMessage, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var probe struct {
		Keys json.RawMessage `json:"keys"`
		Kty  string          `json:"kty"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, fmt.Errorf("%s is not a JWK Set: %v", path, err)
	}
	if probe.Keys == nil && probe.Kty != "" {
		data = append(append([]byte(`{"keys":[`), data...), ']', '}')
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, data); err != nil {
		return nil, fmt.Errorf("%s is not a JWK Set: %v", path, err)
	}
	return buf.Bytes(), nil
}

// writeClients writes the clients file, creating its folder (mode 0700) when
// needed.
func writeClients(path string, list []idp.Client) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return idp.WriteClients(path, list)
}

func runClientList(_ context.Context, c cli, args []string) int {
	const command = "client list"
	flags := newFlagSet(command, "fullmakt client list [flags]",
		"Lists the clients in the clients file: id, name, authentication method and grant\n"+
			"types. Secrets and their hashes are never shown.")
	file := addClientsFileFlags(flags)
	if code, done := flags.parse(c, args); done {
		return code
	}
	if len(flags.Args()) > 0 {
		fmt.Fprintf(c.stderr, "fullmakt %s: takes no arguments, got %q\n", command, flags.Args())
		return exitUsage
	}
	path := file.path()
	list, exists, err := readClients(path)
	if err != nil {
		return clientFailed(c, command, err)
	}
	if !exists {
		fmt.Fprintf(c.stderr, "fullmakt %s: no clients: %s does not exist\n", command, path)
		return exitOK
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tAUTH METHOD\tGRANT TYPES")
	for _, cl := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", cl.ID, cl.Name, cl.TokenEndpointAuthMethod, strings.Join(cl.GrantTypes, ","))
	}
	if err := tw.Flush(); err != nil {
		return clientFailed(c, command, err)
	}
	return exitOK
}

// findClient loads the clients file and finds the client id in it; it prints why
// not and returns false when it cannot.
func findClient(c cli, command, path, id string) ([]idp.Client, int, bool) {
	list, exists, err := readClients(path)
	if err != nil {
		clientFailed(c, command, err)
		return nil, 0, false
	}
	i := slices.IndexFunc(list, func(x idp.Client) bool { return x.ID == id })
	if i < 0 {
		why := ""
		if !exists {
			why = " (the file does not exist)"
		}
		fmt.Fprintf(c.stderr, "fullmakt %s: no client %q in %s%s\n", command, id, path, why)
		return nil, 0, false
	}
	return list, i, true
}

func runClientShow(_ context.Context, c cli, args []string) int {
	const command = "client show"
	flags := newFlagSet(command, "fullmakt client show ID [flags]",
		"Prints the client ID as JSON, as in the clients file but without its secret\n"+
			"hashes.")
	flags.interspersed = true
	file := addClientsFileFlags(flags)
	if code, done := flags.parse(c, args); done {
		return code
	}
	id, ok := clientIDArg(c, command, flags.Args())
	if !ok {
		return exitUsage
	}
	list, i, ok := findClient(c, command, file.path(), id)
	if !ok {
		return exitError
	}
	cl := list[i]
	cl.SecretHash, cl.RotatedSecrets = "", nil
	enc := json.NewEncoder(c.stdout)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(&cl); err != nil {
		return clientFailed(c, command, err)
	}
	return exitOK
}

func runClientRotateSecret(_ context.Context, c cli, args []string) int {
	const command = "client rotate-secret"
	grace := 24 * time.Hour
	flags := newFlagSet(command, "fullmakt client rotate-secret ID [--grace DURATION] [flags]",
		"Gives the client_secret_basic client ID a new secret, printed once on stdout.\n"+
			"The old secret keeps working for --grace (0: it stops at once), so the client\n"+
			"can move to the new one without an outage. Rotated secrets that have expired\n"+
			"are dropped from the file.")
	flags.interspersed = true
	file := addClientsFileFlags(flags)
	flags.DurationVar(&grace, "grace", grace, "how long the old secret keeps working: a `DURATION` up to 720h")
	if code, done := flags.parse(c, args); done {
		return code
	}
	id, ok := clientIDArg(c, command, flags.Args())
	if !ok {
		return exitUsage
	}
	if grace < 0 || grace > maxClientSecretGrace {
		return invalid(c, command, fmt.Errorf("--grace: %s is not between 0 and %s", grace, maxClientSecretGrace))
	}
	path := file.path()
	list, i, ok := findClient(c, command, path, id)
	if !ok {
		return exitError
	}
	cl := list[i]
	if cl.TokenEndpointAuthMethod != idp.AuthMethodSecretBasic {
		fmt.Fprintf(c.stderr, "fullmakt %s: client %q uses %s and has no secret\n", command, id, cl.TokenEndpointAuthMethod)
		return exitError
	}
	now := time.Now().UTC().Truncate(time.Second)
	var rotated []idp.RotatedSecret
	for _, r := range cl.RotatedSecrets {
		if r.ExpiresAt.After(now) {
			rotated = append(rotated, r)
		}
	}
	if grace > 0 && cl.SecretHash != "" {
		rotated = append(rotated, idp.RotatedSecret{Hash: cl.SecretHash, ExpiresAt: now.Add(grace)})
	}
	secret, err := idp.NewSecret()
	if err != nil {
		return clientFailed(c, command, err)
	}
	cl.SecretHash, cl.RotatedSecrets = idp.HashSecret(secret), rotated
	list[i] = cl
	if err := writeClients(path, list); err != nil {
		return clientFailed(c, command, err)
	}
	if grace > 0 {
		fmt.Fprintf(c.stdout, "rotated the secret of client %q in %s; the old secret works until %s\n", id, path, now.Add(grace).Format(time.RFC3339))
	} else {
		fmt.Fprintf(c.stdout, "rotated the secret of client %q in %s; the old secret no longer works\n", id, path)
	}
	printSecret(c, id, secret)
	return exitOK
}

func runClientRemove(_ context.Context, c cli, args []string) int {
	const command = "client remove"
	flags := newFlagSet(command, "fullmakt client remove ID [flags]",
		"Removes the client ID from the clients file. A running server refuses the\n"+
			"client once it has reloaded the file.")
	flags.interspersed = true
	file := addClientsFileFlags(flags)
	if code, done := flags.parse(c, args); done {
		return code
	}
	id, ok := clientIDArg(c, command, flags.Args())
	if !ok {
		return exitUsage
	}
	path := file.path()
	list, i, ok := findClient(c, command, path, id)
	if !ok {
		return exitError
	}
	if err := writeClients(path, slices.Delete(list, i, i+1)); err != nil {
		return clientFailed(c, command, err)
	}
	fmt.Fprintf(c.stdout, "removed client %q from %s\n", id, path)
	return exitOK
}
