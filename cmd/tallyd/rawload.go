package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"syscall"
	"time"
)

// rawConn is one keep-alive HTTP/1.1 connection of the load generator.
// The bench shares the machine with tallyd, so it sends requests built
// before the clock starts and reads the answers with little more than
// net/http's response parser: the CPU it saves is tallyd's.
type rawConn struct {
	nc   net.Conn
	br   *bufio.Reader
	used bool // it carried a request and its answer
}

// rawRequest is a whole PUT of an envelope, head and body, as sent.
func (c *loadClient) rawRequest(path string, body []byte) []byte {
	head := "PUT " + path + " HTTP/1.1\r\nHost: " + c.host +
		"\r\nContent-Type: application/json\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n"
	req := make([]byte, 0, len(head)+len(body))
	return append(append(req, head...), body...)
}

// takeConn is an idle connection, or a new one.
func (c *loadClient) takeConn() (*rawConn, error) {
	select {
	case rc := <-c.idle:
		return rc, nil
	default:
	}
	nc, err := net.DialTimeout("tcp", c.host, 10*time.Second)
	if err != nil {
		return nil, err
	}
	c.dials.Add(1)
	return &rawConn{nc: nc, br: bufio.NewReaderSize(nc, 4096)}, nil
}

// putConn keeps a connection for the next request, or closes it when
// the pool is full.
func (c *loadClient) putConn(rc *rawConn) {
	select {
	case c.idle <- rc:
	default:
		_ = rc.nc.Close()
	}
}

// closeIdle closes the pooled connections.
func (c *loadClient) closeIdle() {
	for {
		select {
		case rc := <-c.idle:
			_ = rc.nc.Close()
		default:
			return
		}
	}
}

// send writes a pre-built request on rc and reads the answer whole. On an
// error the connection is closed and must not be used again.
func (rc *rawConn) send(req []byte) (int, []byte, bool, error) {
	if err := rc.nc.SetDeadline(time.Now().Add(60 * time.Second)); err != nil {
		return 0, nil, false, err
	}
	if _, err := rc.nc.Write(req); err != nil {
		return 0, nil, false, err
	}
	resp, err := http.ReadResponse(rc.br, nil)
	if err != nil {
		return 0, nil, false, err
	}
	var body []byte
	if resp.ContentLength >= 0 {
		body = make([]byte, resp.ContentLength)
		_, err = io.ReadFull(resp.Body, body)
	} else {
		body, err = io.ReadAll(resp.Body)
	}
	resp.Body.Close()
	if err != nil {
		return 0, nil, false, fmt.Errorf("reading the answer: %w", err)
	}
	rc.used = true
	return resp.StatusCode, body, !resp.Close, nil
}

// closedIdle reports whether err is what a kept connection gives when the
// server has closed it meanwhile.
func closedIdle(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}
