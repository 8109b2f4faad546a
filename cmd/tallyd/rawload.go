package main

import (
	"bufio"
	"bytes"
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

// read writes a pre-built GET on rc and reads the answer's body into buf,
// reused from one call to the next: the readers of the public results
// send tens of thousands of these a second, and a response parser's
// allocations (a header map each, a body each) would be the bench's GC
// work on tallyd's cores. It takes only what tallyd answers the public
// with: a status line, headers, and a body of Content-Length bytes.
func (rc *rawConn) read(req []byte, buf []byte) (status int, body []byte, keep bool, err error) {
	if _, err := rc.nc.Write(req); err != nil {
		return 0, nil, false, err
	}
	line, err := rc.br.ReadSlice('\n')
	if err != nil {
		return 0, nil, false, err
	}
	// "HTTP/1.1 200 OK\r\n"
	if len(line) < 12 || string(line[:9]) != "HTTP/1.1 " {
		return 0, nil, false, fmt.Errorf("not an HTTP/1.1 status line: %q", line)
	}
	if status, err = strconv.Atoi(string(line[9:12])); err != nil {
		return 0, nil, false, fmt.Errorf("status line %q: %w", line, err)
	}
	length, keep := -1, true
	for {
		line, err := rc.br.ReadSlice('\n')
		if err != nil {
			return 0, nil, false, err
		}
		if len(line) <= 2 { // the blank line that ends the head
			break
		}
		name, value, ok := bytes.Cut(bytes.TrimRight(line, "\r\n"), []byte(":"))
		if !ok {
			return 0, nil, false, fmt.Errorf("header line %q", line)
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(value)); err != nil || length < 0 {
				return 0, nil, false, fmt.Errorf("Content-Length %q", value)
			}
		case bytes.EqualFold(name, []byte("Connection")):
			keep = !bytes.EqualFold(value, []byte("close"))
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			return 0, nil, false, fmt.Errorf("a %s body, where tallyd gives a length", value)
		}
	}
	if length < 0 {
		if status == 304 || status == 204 {
			length = 0
		} else {
			return 0, nil, false, errors.New("an answer without Content-Length")
		}
	}
	if cap(buf) < length {
		buf = make([]byte, length)
	}
	body = buf[:length]
	if _, err := io.ReadFull(rc.br, body); err != nil {
		return 0, nil, false, fmt.Errorf("reading the answer: %w", err)
	}
	rc.used = true
	return status, body, keep, nil
}
