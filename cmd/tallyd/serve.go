package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"runtime/pprof"
	"syscall"
	"time"

	"tally/app/commission"
	"tally/app/publish"
	"tally/app/seal"
	"tally/cmd/internal/cli"
	"tally/server"
	"tally/server/resultspage"
)

// serve runs tallyd until SIGINT or SIGTERM, then shuts down gracefully:
// the requests in flight finish, and every submission taken is committed
// before it exits.
func serve(args []string, stdout, stderr io.Writer) error {
	fs := cli.Flags("serve")
	db := dbFlag(fs)
	listen := fs.String("listen", "127.0.0.1:8480", "the address to listen on (plain HTTP only on loopback)")
	keys := fs.String("keys", "keys", "the directory holding the commission's receipt.key")
	certFile := fs.String("tls-cert", "", "the TLS certificate chain (PEM), required off loopback")
	keyFile := fs.String("tls-key", "", "the TLS private key (PEM)")
	addrRate := fs.Float64("rate-per-address", 200, "requests per second allowed from one client address")
	addrBurst := fs.Int("burst-per-address", 2000, "the burst allowed from one client address")
	keyRate := fs.Float64("rate-per-key", 10, "requests per second allowed for one station's or supervisor's key")
	keyBurst := fs.Int("burst-per-key", 100, "the burst allowed for one key")
	publicRate := fs.Float64("rate-public", 100, "requests per second allowed from one client address for the public results")
	publicBurst := fs.Int("burst-public", 1000, "the burst allowed from one client address for the public results")
	publishEvery := fs.Duration("publish-interval", 2*time.Second, "the least time between two results snapshots")
	publishBusy := fs.Float64("publish-max-busy", publish.DefaultMaxBusy, "the largest share of time spent making results snapshots (0 to 1]")
	publishOn := fs.Bool("publish", true, "make results snapshots (exactly one node of a cluster on one database does)")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file (for tuning)")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return cli.Usagef("serve: --log-level %q: %v", *logLevel, err)
	}
	logger := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level}))
	if os.Getenv("GOGC") == "" {
		// tallyd's live heap is small and short-lived per request: trading
		// some memory for fewer collections gives the CPU to ingest.
		debug.SetGCPercent(400)
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer func() {
			pprof.StopCPUProfile()
			f.Close()
		}()
	}

	receiptKey, err := seal.ReadPrivateKeyFile(filepath.Join(*keys, "receipt.key"))
	if err != nil {
		return fmt.Errorf("serve: the receipt key: %w", err)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	if *certFile != "" || *keyFile != "" {
		cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
		if err != nil {
			ln.Close()
			return fmt.Errorf("serve: TLS: %w", err)
		}
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	} else if ip := ln.Addr().(*net.TCPAddr).IP; !ip.IsLoopback() {
		ln.Close()
		return fmt.Errorf("serve: %s is not a loopback address: plain HTTP is only for loopback; give --tls-cert and --tls-key", *listen)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	store, err := openStore(ctx, *db)
	if err != nil {
		ln.Close()
		return err
	}
	svc := commission.New(store, commission.Options{ReceiptKey: receiptKey})
	defer func() {
		svc.Close() // commits what was taken before the listener closed
		if err := store.Close(); err != nil {
			logger.Error("closing the store", "err", err)
		}
	}()
	if err := svc.Ready(ctx); err != nil {
		ln.Close()
		return fmt.Errorf("serve: %w (import the election first: tallyd election import)", err)
	}
	var pub *publish.Publisher
	if *publishOn {
		if pub, err = startPublisher(ctx, svc, *keys, *publishEvery, *publishBusy, logger); err != nil {
			ln.Close()
			return err
		}
	}
	srv, err := server.New(server.Config{Service: svc, Logger: logger,
		AddrRate:   server.Rate{PerSecond: *addrRate, Burst: *addrBurst},
		KeyRate:    server.Rate{PerSecond: *keyRate, Burst: *keyBurst},
		PublicRate: server.Rate{PerSecond: *publicRate, Burst: *publicBurst},
		Publisher:  pub, Page: resultspage.FS})
	if err != nil {
		ln.Close()
		return err
	}
	// Scripts and the bench read this line to learn the address.
	fmt.Fprintf(stdout, "tallyd %s listening on %s\n", version, ln.Addr())
	logger.Info("listening", "addr", ln.Addr().String(), "db", redact(*db), "version", version)
	err = srv.Serve(ctx, ln)
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	logger.Info("stopped")
	return err
}

// startPublisher makes the results snapshots in the background: soon
// after this node stores a new version or decision, and after another node
// on the same database did (seen by the store's counts, read every
// interval).
func startPublisher(ctx context.Context, svc *commission.Service, keys string, every time.Duration, busy float64, logger *slog.Logger) (*publish.Publisher, error) {
	key, err := seal.ReadPrivateKeyFile(filepath.Join(keys, "publication.key"))
	if err != nil {
		return nil, fmt.Errorf("serve: the publication key (or --publish=false): %w", err)
	}
	def, err := svc.Definition(ctx)
	if err != nil {
		return nil, err
	}
	pub, err := publish.NewPublisher(ctx, publish.Options{Definition: def, Key: key,
		Source: publish.ServiceSource(svc), Archive: publish.ServiceArchive(svc), MinInterval: every, MaxBusy: busy, Retain: 8,
		OnError: func(err error) {
			if ctx.Err() == nil { // not a snapshot cut short by the shutdown
				logger.Error("publishing results", "err", err)
			}
		},
		OnPublish: func(p *publish.Published, took time.Duration) {
			logger.Info("results published", "number", p.Number, "digest", p.Digest, "bytes", len(p.Sealed),
				"took", took.String())
		}})
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	go func() { _ = pub.Run(ctx) }()
	go func() {
		var last commission.Counts
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			c, err := svc.StoreCounts(ctx)
			if err == nil && c != last {
				last = c
				pub.Changed()
			}
		}
	}()
	return pub, nil
}

// redact hides a database URL's password in the logs.
func redact(db string) string {
	if u, err := url.Parse(db); err == nil && isPostgres(db) {
		return u.Redacted()
	}
	return db
}
