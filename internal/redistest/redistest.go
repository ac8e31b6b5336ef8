// Package redistest starts real redis-server processes on free loopback ports for tests
// (a standalone server, with or without an append-only file, a 3-master Redis Cluster,
// and one with a replica per master) and stops them when the test ends.
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
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Server is one redis-server process that a test started.
type Server struct {
	Addr  string // host:port on 127.0.0.1
	cmd   *exec.Cmd
	dir   string
	port  int
	extra []string // redis-server arguments beyond port, bind, dir and log file
	done  chan struct{}
}

// Arguments of a server that persists nothing (the default: tests start from empty).
var volatile = []string{"--save", "", "--appendonly", "no"}

// Faults skips tb unless DNC_FAULTS=1: fault-injection tests (killed and hung servers,
// cluster failovers) take seconds each and run only when asked for.
func Faults(tb testing.TB) {
	tb.Helper()
	if os.Getenv("DNC_FAULTS") != "1" {
		tb.Skip("fault-injection test: set DNC_FAULTS=1 to run it")
	}
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
	s, err := start(tb.TempDir(), false, volatile)
	if err != nil {
		tb.Fatalf("start redis-server: %v", err)
	}
	tb.Cleanup(s.Stop)
	return s
}

// StartAOF is Start with an append-only file fsynced before every reply
// (appendonly yes, appendfsync always), so that every write Redis acknowledged
// survives a kill -9 and Restart.
func StartAOF(tb testing.TB) *Server {
	tb.Helper()
	need(tb, "redis-server")
	s, err := start(tb.TempDir(), false, []string{"--save", "", "--appendonly", "yes", "--appendfsync", "always"})
	if err != nil {
		tb.Fatalf("start redis-server: %v", err)
	}
	tb.Cleanup(s.Stop)
	return s
}

// Restart kills the server (SIGKILL, as kill -9) if it runs, then starts it again on
// the same port, with the same directory and settings, and waits until it answers PING.
// Its data survives only as far as its persistence allows (see StartAOF). Call it from
// the test's goroutine only.
func (s *Server) Restart() error {
	s.Stop()
	ns, err := launch(s.dir, s.port, s.extra)
	if err != nil {
		return err
	}
	s.cmd, s.done = ns.cmd, ns.done
	return nil
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

// Stop kills the server (SIGKILL, as kill -9) and waits for it to exit. Calling it again
// does nothing.
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

func start(dir string, cluster bool, extra []string) (*Server, error) {
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		port, err := freePort(cluster)
		if err != nil {
			return nil, err
		}
		s, err := launch(dir, port, extra)
		if err == nil {
			return s, nil
		}
		lastErr = err // most likely the port was taken in the meantime: try another
	}
	return nil, lastErr
}

func launch(dir string, port int, extra []string) (*Server, error) {
	args := []string{
		"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--dir", dir, "--logfile", filepath.Join(dir, "redis.log"),
	}
	cmd := exec.Command("redis-server", append(args, extra...)...)
	// If the test binary dies (a -timeout panic, say), the kernel kills the server too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &Server{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), cmd: cmd, dir: dir, port: port, extra: extra, done: make(chan struct{})}
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

// Cluster is a Redis Cluster that a test started: three masters, and in StartClusterReplicas
// one replica of each.
type Cluster struct {
	Nodes []*Server // in the order given to redis-cli --cluster create: masters first
}

// StartCluster starts three cluster-enabled redis-server processes, joins them with
// `redis-cli --cluster create` (16384 slots over three masters), waits until every node
// reports cluster_state:ok, and stops them all when tb ends.
func StartCluster(tb testing.TB) *Cluster {
	tb.Helper()
	return startCluster(tb, 0, 5*time.Second)
}

// ReplicaNodeTimeout is the cluster-node-timeout of StartClusterReplicas: a master that
// has not answered for that long is failed over to its replica.
const ReplicaNodeTimeout = 2 * time.Second

// StartClusterReplicas starts a Redis Cluster of three masters with one replica each
// (six processes, cluster-node-timeout ReplicaNodeTimeout), waits until every node
// reports cluster_state:ok and every replica is in sync with its master, and stops
// them all when tb ends. Killing a master (Server.Stop) makes its replica take over.
func StartClusterReplicas(tb testing.TB) *Cluster {
	tb.Helper()
	return startCluster(tb, 1, ReplicaNodeTimeout)
}

func startCluster(tb testing.TB, replicas int, nodeTimeout time.Duration) *Cluster {
	tb.Helper()
	need(tb, "redis-server", "redis-cli")
	c := &Cluster{}
	tb.Cleanup(func() {
		for _, n := range c.Nodes {
			n.Stop()
		}
	})
	n := 3 * (1 + replicas)
	addrs := make([]string, n)
	for i := range n {
		dir := tb.TempDir()
		s, err := start(dir, true, append(slices.Clone(volatile),
			"--cluster-enabled", "yes", "--cluster-config-file", filepath.Join(dir, "nodes.conf"),
			"--cluster-node-timeout", strconv.FormatInt(nodeTimeout.Milliseconds(), 10),
			"--repl-diskless-sync-delay", "0"))
		if err != nil {
			tb.Fatalf("start cluster node: %v", err)
		}
		c.Nodes = append(c.Nodes, s)
		addrs[i] = s.Addr
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args := append([]string{"--cluster", "create"}, addrs...)
	args = append(args, "--cluster-replicas", strconv.Itoa(replicas), "--cluster-yes")
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

// waitClusterOK waits until the node at addr reports cluster_state:ok and, if it is a
// replica, that its link to its master is up (the initial sync is done).
func waitClusterOK(ctx context.Context, addr string) error {
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer c.Close()
	for {
		info, err := c.ClusterInfo(ctx).Result()
		var repl string
		if err == nil && clusterOK(info) {
			repl, err = c.Info(ctx, "replication").Result()
			if err == nil && (strings.Contains(repl, "role:master") || strings.Contains(repl, "master_link_status:up")) {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster_state not ok or replica not in sync: %v %v %v", err, info, repl)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// MasterOf returns the node that serves key's slot as master now, asking the first
// node that answers.
func (c *Cluster) MasterOf(ctx context.Context, key string) (*Server, error) {
	addr, err := c.masterAddr(ctx, key, "")
	if err != nil {
		return nil, err
	}
	for _, n := range c.Nodes {
		if n.Addr == addr {
			return n, nil
		}
	}
	return nil, fmt.Errorf("master %s of %q is not a node of the cluster", addr, key)
}

// WaitFailover waits until a node other than old reports itself master of key's slot
// in a cluster whose state is ok, and returns its address: the cluster's own failover
// is over, whatever clients have noticed.
func (c *Cluster) WaitFailover(ctx context.Context, key string, old *Server) (string, error) {
	for {
		addr, err := c.masterAddr(ctx, key, old.Addr)
		if err == nil && addr != old.Addr {
			return addr, nil
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("no failover of %q away from %s: %v", key, old.Addr, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// masterAddr asks the nodes but skip, in turn, for the master of key's slot; only a
// node whose cluster state is ok is believed.
func (c *Cluster) masterAddr(ctx context.Context, key, skip string) (string, error) {
	var lastErr error
	for _, n := range c.Nodes {
		if n.Addr == skip {
			continue
		}
		addr, err := askMaster(ctx, n.Addr, key)
		if err == nil {
			return addr, nil
		}
		lastErr = err
	}
	return "", lastErr
}

func askMaster(ctx context.Context, node, key string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	cl := redis.NewClient(&redis.Options{Addr: node, MaxRetries: -1, ContextTimeoutEnabled: true, DialTimeout: 200 * time.Millisecond})
	defer cl.Close()
	info, err := cl.ClusterInfo(ctx).Result()
	if err != nil {
		return "", err
	}
	if !clusterOK(info) {
		return "", fmt.Errorf("node %s: cluster state not ok", node)
	}
	slot, err := cl.ClusterKeySlot(ctx, key).Result()
	if err != nil {
		return "", err
	}
	slots, err := cl.ClusterSlots(ctx).Result()
	if err != nil {
		return "", err
	}
	for _, r := range slots {
		if int64(r.Start) <= slot && slot <= int64(r.End) && len(r.Nodes) > 0 {
			return r.Nodes[0].Addr, nil
		}
	}
	return "", fmt.Errorf("node %s: no master for slot %d", node, slot)
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
