package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"strings"

	"tally/app/commission"
	"tally/app/enrollment"
	"tally/cmd/internal/cli"
)

// operator names who runs a command, for the audit log.
func operator() string {
	if u, err := user.Current(); err == nil {
		return "operator:" + u.Username
	}
	return "operator"
}

func electionImport(args []string, stdout io.Writer) error {
	fs := cli.Flags("election import")
	db := dbFlag(fs)
	file := fs.String("definition", "", "the signed election definition (required)")
	fingerprint := fs.String("fingerprint", "", "the printed fingerprint of the commission's definition key (required)")
	codes := fs.String("codes", "", "a CSV of printed enrollment codes (role,unit,municipality,name,code) to accept, as `tallyd election demo` writes")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if *file == "" || *fingerprint == "" {
		return cli.Usagef("election import: --definition and --fingerprint are required")
	}
	signed, err := os.ReadFile(*file)
	if err != nil {
		return err
	}
	var printed []commission.IssuedCode
	if *codes != "" {
		if printed, err = readCodes(*codes); err != nil {
			return err
		}
	}
	ctx := context.Background()
	return withService(ctx, *db, commission.Options{}, func(svc *commission.Service, _ commission.Store) error {
		def, err := svc.ImportElection(ctx, signed, *fingerprint, operator())
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "election %s imported into %s\n", def.Election.ID, *db)
		if len(printed) > 0 {
			if err := svc.AcceptCodes(ctx, printed, operator()); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "%d enrollment codes accepted from %s\n", len(printed), *codes)
		}
		return nil
	})
}

// readCodes reads a CSV of printed codes.
func readCodes(path string) ([]commission.IssuedCode, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(rows) == 0 || strings.Join(rows[0], ",") != strings.Join(codesHeader, ",") {
		return nil, fmt.Errorf("%s: the first line must be %s", path, strings.Join(codesHeader, ","))
	}
	out := make([]commission.IssuedCode, 0, len(rows)-1)
	for i, r := range rows[1:] {
		code, err := enrollment.Normalize(r[4])
		if err != nil {
			return nil, fmt.Errorf("%s line %d: %w", path, i+2, err)
		}
		out = append(out, commission.IssuedCode{Role: enrollment.Role(r[0]), Unit: r[1], Municipality: r[2], Name: r[3], Code: code})
	}
	return out, nil
}

func codesIssue(args []string, stdout io.Writer) error {
	fs := cli.Flags("codes issue")
	db := dbFlag(fs)
	role := fs.String("role", string(enrollment.RoleStation), "station or supervisor")
	units := fs.String("unit", "", "comma-separated station or municipality codes (default: all of them)")
	out := fs.String("out", "", "the CSV file to write the codes to, for printing (required; never overwritten)")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return cli.Usagef("codes issue: --out is required")
	}
	var list []string
	if *units != "" {
		list = strings.Split(*units, ",")
	}
	f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	ctx := context.Background()
	err = withService(ctx, *db, commission.Options{}, func(svc *commission.Service, _ commission.Store) error {
		codes, err := svc.IssueCodes(ctx, enrollment.Role(*role), list, operator())
		if err != nil {
			return err
		}
		w := csv.NewWriter(f)
		_ = w.Write(codesHeader)
		for _, c := range codes {
			_ = w.Write([]string{string(c.Role), c.Unit, c.Municipality, c.Name, c.Code})
		}
		w.Flush()
		if err := w.Error(); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%d %s codes written to %s; earlier unused codes of the same units no longer work\n",
			len(codes), *role, *out)
		return nil
	})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(*out)
	}
	return err
}

func keyRevoke(args []string, stdout io.Writer) error {
	fs := cli.Flags("key revoke")
	db := dbFlag(fs)
	id := fs.String("key", "", "the key id to revoke (required)")
	reason := fs.String("reason", "", "why, for the audit log (required)")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if *id == "" || *reason == "" {
		return cli.Usagef("key revoke: --key and --reason are required")
	}
	ctx := context.Background()
	return withService(ctx, *db, commission.Options{}, func(svc *commission.Service, _ commission.Store) error {
		k, err := svc.Revoke(ctx, *id, *reason, operator())
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "key %s of %s %s revoked at %s\n", k.ID, k.Role, k.Unit, k.RevokedAt.Format("2006-01-02 15:04:05Z07:00"))
		return nil
	})
}

// integrityChecker is a store that can check its own file.
type integrityChecker interface {
	IntegrityCheck(ctx context.Context) error
}

func auditVerify(args []string, stdout io.Writer) error {
	fs := cli.Flags("audit verify")
	db := dbFlag(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	ctx := context.Background()
	return withService(ctx, *db, commission.Options{}, func(svc *commission.Service, store commission.Store) error {
		n, head, verr := svc.VerifyAudit(ctx)
		var ierr error
		if ic, ok := store.(integrityChecker); ok {
			ierr = ic.IntegrityCheck(ctx)
		}
		report := struct {
			Records   uint64 `json:"records"`
			Head      string `json:"head,omitempty"`
			Chain     string `json:"chain"`
			Integrity string `json:"integrity"`
		}{Records: n, Chain: "ok", Integrity: "ok"}
		if head != nil {
			report.Head = head.Hash
		}
		if verr != nil {
			report.Chain = verr.Error()
		}
		if ierr != nil {
			report.Integrity = ierr.Error()
		}
		if *asJSON {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			if err := enc.Encode(report); err != nil {
				return err
			}
		} else {
			fmt.Fprintf(stdout, "audit records  %d\nchain          %s\nhead           %s\nintegrity      %s\n",
				report.Records, report.Chain, report.Head, report.Integrity)
		}
		return errors.Join(verr, ierr)
	})
}
