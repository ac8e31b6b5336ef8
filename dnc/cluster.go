package dnc

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// healEvery is the least time between two slot-map reloads that one Enforcer asks for.
const healEvery = 250 * time.Millisecond

// healer makes a Redis Cluster client notice a failover at once. When a master dies,
// go-redis keeps sending its slots' commands to the dead address (connections refused
// or timing out) until its slot map is reloaded, which by itself happens only on a
// MOVED reply or every ClusterStateReloadInterval (60 s by default): a minute of
// failed checks after the cluster itself has healed. So after a command fails with a
// connection error (see connFailure), the healer asks the client to reload the map
// (ClusterClient.ReloadState, which runs in the background), at most once every
// healEvery.
//
// It watches every command of the client, as a go-redis hook, so that checks and writes
// alike heal, whichever method sent them. A nil *healer (the client is not a cluster
// client) does nothing. It is safe for concurrent use.
type healer struct {
	cc   *redis.ClusterClient
	last atomic.Int64 // time.Now().UnixNano() of the last reload asked for
}

// newHealer returns the healer of rdb, installed as a hook of rdb, or nil when rdb is
// not a *redis.ClusterClient (a single node reconnects by itself; a Sentinel client
// follows its sentinels).
func newHealer(rdb redis.UniversalClient) *healer {
	cc, ok := rdb.(*redis.ClusterClient)
	if !ok {
		return nil
	}
	h := &healer{cc: cc}
	cc.AddHook(h)
	return h
}

// observe asks for a reload of the slot map if err is a connection failure and no
// reload was asked for in the last healEvery.
func (h *healer) observe(err error) {
	if h == nil || !connFailure(err) {
		return
	}
	now := time.Now().UnixNano()
	last := h.last.Load()
	if now-last < int64(healEvery) || !h.last.CompareAndSwap(last, now) {
		return // one caller per period asks; the others go on
	}
	h.cc.ReloadState(context.Background()) // does not block: go-redis reloads in the background
}

func (h *healer) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *healer) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		h.observe(err)
		return err
	}
}

func (h *healer) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		h.observe(err)
		return err
	}
}
