// Package redistest starts real redis-server processes on free loopback ports for tests
// (a standalone server, and a 3-master Redis Cluster) and stops them when the test ends.
// Tests never touch a Redis they did not start.
//
// Where redis-server (or, for a cluster, redis-cli) is not installed, the test is
// skipped with a message saying so, unless DNC_REQUIRE_REDIS=1, when it fails instead.
package redistest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Server is one redis-server process that a test started.
type Server struct {
	Addr string // host:port on 127.0.0.1
	cmd  *exec.Cmd
	dir  string
	done chan struct{}
}

// Required reports whether DNC_REQUIRE_REDIS=1 asks real-Redis tests to fail rather than
// skip when Redis cannot be started.
func Required() bool { return os.Getenv("DNC_REQUIRE_REDIS") == "1" }

func need(tb testing.TB, bins ...string) {
	tb.Helper()
	for _, b := range bins {
		if _, err := exec.LookPath(b); err != nil {
			if Required() {
				tb.Fatalf("DNC_REQUIRE_REDIS=1 but %s is not installed: %v", b, err)
			}
			tb.Skipf("%s is not installed (apt-get install redis-server); skipping real-Redis test", b)
		}
	}
}

// Start starts a standalone redis-server on a free loopback port, waits until it
// answers PING, and stops it when tb ends.
func Start(tb testing.TB) *Server {
	tb.Helper()
	need(tb, "redis-server")
	s, err := start(tb.TempDir(), false)
	if err != nil {
		tb.Fatalf("start redis-server: %v", err)
	}
	tb.Cleanup(s.Stop)
	return s
}

// Client returns a go-redis client of s, closed when tb ends. It has
// ContextTimeoutEnabled, so context deadlines cut commands short, and no retries, so
// a failure shows at once.
func (s *Server) Client(tb testing.TB) *redis.Client {
	tb.Helper()
	c := redis.NewClient(&redis.Options{Addr: s.Addr, ContextTimeoutEnabled: true, MaxRetries: -1})
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

// Stop kills the server and waits for it to exit. Calling it again does nothing.
func (s *Server) Stop() {
	_ = s.cmd.Process.Signal(syscall.SIGCONT) // a paused process cannot die of SIGKILL until resumed on some kernels
	_ = s.cmd.Process.Kill()
	<-s.done
}

// Pause stops the server process (SIGSTOP): it keeps its connections but answers
// nothing, as a hung server does. Resume undoes it.
func (s *Server) Pause() error { return s.cmd.Process.Signal(syscall.SIGSTOP) }

// Resume continues a paused server (SIGCONT).
func (s *Server) Resume() error { return s.cmd.Process.Signal(syscall.SIGCONT) }

func start(dir string, cluster bool) (*Server, error) {
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		port, err := freePort(cluster)
		if err != nil {
			return nil, err
		}
		s, err := launch(dir, port, cluster)
		if err == nil {
			return s, nil
		}
		lastErr = err // most likely the port was taken in the meantime: try another
	}
	return nil, lastErr
}

func launch(dir string, port int, cluster bool) (*Server, error) {
	args := []string{
		"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", dir, "--logfile", filepath.Join(dir, "redis.log"),
	}
	if cluster {
		args = append(args, "--cluster-enabled", "yes", "--cluster-config-file", filepath.Join(dir, "nodes.conf"),
			"--cluster-node-timeout", "5000")
	}
	cmd := exec.Command("redis-server", args...)
	// If the test binary dies (a -timeout panic, say), the kernel kills the server too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &Server{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), cmd: cmd, dir: dir, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(s.done) }()

	c := redis.NewClient(&redis.Options{Addr: s.Addr, MaxRetries: -1, DialTimeout: time.Second})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.Ping(ctx).Err()
		var pid int
		if err == nil {
			pid, err = serverPID(ctx, c)
		}
		cancel()
		if err == nil && pid == cmd.Process.Pid {
			return s, nil
		}
		if err == nil {
			// Another process answers on the port that was free a moment ago: ours
			// could not bind it. Never hand out a server this test did not start.
			s.Stop()
			return nil, fmt.Errorf("port %d is served by another process (pid %d)", port, pid)
		}
		select {
		case <-s.done:
			return nil, fmt.Errorf("redis-server on port %d exited: %s", port, tail(filepath.Join(dir, "redis.log")))
		default:
		}
		if time.Now().After(deadline) {
			s.Stop()
			return nil, fmt.Errorf("redis-server on port %d did not answer PING: %v", port, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// serverPID returns the process id that the Redis behind c reports.
func serverPID(ctx context.Context, c *redis.Client) (int, error) {
	info, err := c.Info(ctx, "server").Result()
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "process_id:"); ok {
			return strconv.Atoi(v)
		}
	}
	return 0, errors.New("INFO server has no process_id")
}

// freePort returns a loopback port that is free now; for a cluster node, its bus port
// (port+10000) is free too.
func freePort(cluster bool) (int, error) {
	for i := 0; i < 50; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		_ = l.Close()
		if !cluster {
			return port, nil
		}
		if port+10000 > 65535 {
			continue
		}
		bus, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port+10000)))
		if err != nil {
			continue
		}
		_ = bus.Close()
		return port, nil
	}
	return 0, errors.New("no free loopback port pair for a cluster node")
}

func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(lines[max(0, len(lines)-5):], " | ")
}

// Cluster is a Redis Cluster of three masters, no replicas, that a test started.
type Cluster struct {
	Nodes []*Server
}

// StartCluster starts three cluster-enabled redis-server processes, joins them with
// `redis-cli --cluster create` (16384 slots over three masters), waits until every node
// reports cluster_state:ok, and stops them all when tb ends.
func StartCluster(tb testing.TB) *Cluster {
	tb.Helper()
	need(tb, "redis-server", "redis-cli")
	c := &Cluster{}
	tb.Cleanup(func() {
		for _, n := range c.Nodes {
			n.Stop()
		}
	})
	addrs := make([]string, 3)
	for i := range 3 {
		s, err := start(tb.TempDir(), true)
		if err != nil {
			tb.Fatalf("start cluster node: %v", err)
		}
		c.Nodes = append(c.Nodes, s)
		addrs[i] = s.Addr
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args := append([]string{"--cluster", "create"}, addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.CommandContext(ctx, "redis-cli", args...).CombinedOutput(); err != nil {
		tb.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	for _, n := range c.Nodes {
		if err := waitClusterOK(ctx, n.Addr); err != nil {
			tb.Fatalf("cluster node %s: %v", n.Addr, err)
		}
	}
	return c
}

func waitClusterOK(ctx context.Context, addr string) error {
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer c.Close()
	for {
		info, err := c.ClusterInfo(ctx).Result()
		if err == nil && clusterOK(info) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster_state not ok: %v %v", err, info)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func clusterOK(info string) bool {
	sc := bufio.NewScanner(strings.NewReader(info))
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == "cluster_state:ok" {
			return true
		}
	}
	return false
}

// Addrs returns the nodes' addresses.
func (c *Cluster) Addrs() []string {
	a := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		a[i] = n.Addr
	}
	return a
}

// Client returns a go-redis cluster client of c, closed when tb ends, with
// ContextTimeoutEnabled.
func (c *Cluster) Client(tb testing.TB) *redis.ClusterClient {
	tb.Helper()
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs(), ContextTimeoutEnabled: true})
	tb.Cleanup(func() { _ = cc.Close() })
	// Wait until the client has seen every slot covered, so the first command does not
	// race the cluster's own convergence.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		err := cc.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error { return m.Ping(ctx).Err() })
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			tb.Fatalf("cluster client: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return cc
}
