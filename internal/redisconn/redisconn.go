// Package redisconn turns the examples' -redis and -redis-cluster flags into a go-redis
// client, starting an embedded miniredis when neither is given.
package redisconn

import (
	"errors"
	"fmt"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// Open returns a client for redisURL (a single node, "redis://host:port/db"), or for
// clusterURL (Redis Cluster, "redis://host1:port1?addr=host2:port2&addr=host3:port3"),
// or, when both are empty, for an embedded miniredis that lives until close is called.
// The client has ContextTimeoutEnabled, so context deadlines cut commands short. where
// says what it connected to, for logs; embedded says whether it is the miniredis. Errors
// never repeat the URL, which may hold a password. Open does not contact a real Redis.
func Open(redisURL, clusterURL string) (rdb redis.UniversalClient, where string, embedded bool, close func(), err error) {
	switch {
	case redisURL != "" && clusterURL != "":
		return nil, "", false, nil, errors.New("give -redis or -redis-cluster, not both")
	case clusterURL != "":
		opt, err := redis.ParseClusterURL(clusterURL)
		if err != nil {
			return nil, "", false, nil, errors.New("-redis-cluster: not a valid Redis Cluster URL (redis://host:port?addr=host2:port2&addr=...)")
		}
		opt.ContextTimeoutEnabled = true
		c := redis.NewClusterClient(opt)
		return c, fmt.Sprintf("Redis Cluster %v", opt.Addrs), false, func() { _ = c.Close() }, nil
	case redisURL != "":
		opt, err := redis.ParseURL(redisURL)
		if err != nil {
			return nil, "", false, nil, errors.New("-redis: not a valid Redis URL (redis://[user:password@]host:port/db)")
		}
		opt.ContextTimeoutEnabled = true
		c := redis.NewClient(opt)
		return c, "Redis " + opt.Addr, false, func() { _ = c.Close() }, nil
	default:
		mr, err := miniredis.Run()
		if err != nil {
			return nil, "", false, nil, fmt.Errorf("embedded redis: %w", err)
		}
		c := redis.NewClient(&redis.Options{Addr: mr.Addr(), ContextTimeoutEnabled: true})
		return c, "embedded Redis (miniredis) at " + mr.Addr(), true, func() { _ = c.Close(); mr.Close() }, nil
	}
}
