package main

import (
	"context"
	"errors"
	"fmt"

	"tally/cmd/internal/cli"
)

// auditResult is what `audit verify --json` prints.
type auditResult struct {
	OK             bool   `json:"ok"`
	Records        uint64 `json:"records"`
	Head           string `json:"head,omitempty"`
	ChainError     string `json:"chain_error,omitempty"`
	IntegrityError string `json:"integrity_error,omitempty"`
	Database       string `json:"database"`
}

// errAuditFailed makes the exit status of a failed check non-zero once
// its report is printed.
var errAuditFailed = errors.New("the audit check failed")

func auditVerify(args []string, s *streams) error {
	fs := cli.Flags("audit verify")
	c := commonFlags(fs)
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	ctx := context.Background()
	return withStation(ctx, *c.db, false, func(sdb *stationDB) error {
		out := auditResult{Database: sdb.path}
		count, head, chainErr := sdb.svc.VerifyAudit(ctx)
		out.Records = count
		if head != nil {
			out.Head = head.Hash
		}
		if chainErr != nil {
			out.ChainError = chainErr.Error()
		}
		integrityErr := sdb.db.IntegrityCheck(ctx)
		if integrityErr != nil {
			out.IntegrityError = integrityErr.Error()
		}
		out.OK = chainErr == nil && integrityErr == nil
		if *c.asJSON {
			if err := printJSON(s.stdout, out); err != nil {
				return err
			}
		} else {
			w := s.stdout
			if chainErr == nil {
				fmt.Fprintf(w, "audit chain     ok, %d records\n", out.Records)
			} else {
				fmt.Fprintf(w, "audit chain     BROKEN after %d good records: %v\n", out.Records, chainErr)
			}
			if out.Head != "" {
				fmt.Fprintf(w, "head            %s\n", out.Head)
			}
			if integrityErr == nil {
				fmt.Fprintln(w, "database        ok")
			} else {
				fmt.Fprintf(w, "database        DAMAGED: %v\n", integrityErr)
			}
		}
		switch {
		case chainErr != nil && integrityErr != nil:
			return fmt.Errorf("%w: the audit chain is broken (%v) and the database is damaged (%v)", errAuditFailed, chainErr, integrityErr)
		case chainErr != nil:
			return fmt.Errorf("%w: the audit chain is broken: %v", errAuditFailed, chainErr)
		case integrityErr != nil:
			return fmt.Errorf("%w: the database is damaged: %v", errAuditFailed, integrityErr)
		}
		return nil
	})
}
