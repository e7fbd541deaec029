// A check of Blazar's admin REST API with Apache Pulsar's own Go admin library: creates a
// tenant, a namespace and a partitioned topic, waits for the test to publish, reads the topic's
// stats, resets a subscription, and deletes everything. Driven by test/pulsar-admin-go.test.ts
// over stdin/stdout: it prints "ready" after creating, waits for a line, then checks and prints
// "ok" (any failure exits non-zero with the error).
package main

import (
	"bufio"
	"fmt"
	"os"

	"github.com/apache/pulsar-client-go/pulsaradmin"
	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/utils"
)

func must(err error, what string) {
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", what, err)
		os.Exit(1)
	}
}

func main() {
	admin, err := pulsaradmin.NewClient(&pulsaradmin.Config{WebServiceURL: os.Args[1]})
	must(err, "client")
	must(admin.Tenants().Create(utils.TenantData{Name: "go-tenant", AllowedClusters: []string{"blazar"}}), "create tenant")
	must(admin.Namespaces().CreateNamespace("go-tenant/go-ns"), "create namespace")
	topic, err := utils.GetTopicName("persistent://go-tenant/go-ns/go-topic")
	must(err, "topic name")
	must(admin.Topics().Create(*topic, 2), "create partitioned topic")
	meta, err := admin.Topics().GetMetadata(*topic)
	must(err, "partitions metadata")
	if meta.Partitions != 2 {
		must(fmt.Errorf("%d partitions", meta.Partitions), "partitions metadata")
	}
	partition, err := topic.GetPartition(0)
	must(err, "partition name")
	must(admin.Subscriptions().Create(*partition, "go-sub", utils.Earliest), "create subscription")
	fmt.Println("ready")
	bufio.NewReader(os.Stdin).ReadString('\n')

	stats, err := admin.Topics().GetPartitionedStats(*topic, true)
	must(err, "partitioned stats")
	if stats.Metadata.Partitions != 2 || len(stats.Partitions) != 2 {
		must(fmt.Errorf("%+v", stats.Metadata), "partitioned stats shape")
	}
	partStats, err := admin.Topics().GetStats(*partition)
	must(err, "partition stats")
	backlog := partStats.Subscriptions["go-sub"].MsgBacklog
	fmt.Printf("stats msgInCounter=%d msgRateIn=%.3f backlog=%d\n", partStats.MsgCounterIn, partStats.MsgRateIn, backlog)
	if partStats.MsgCounterIn == 0 || partStats.MsgRateIn <= 0 || backlog != partStats.MsgCounterIn {
		must(fmt.Errorf("unexpected stats %+v", partStats), "stats after publishing")
	}
	must(admin.Subscriptions().ClearBacklog(*partition, "go-sub"), "skip all")
	after, err := admin.Topics().GetStats(*partition)
	must(err, "stats after skip_all")
	if after.Subscriptions["go-sub"].MsgBacklog != 0 {
		must(fmt.Errorf("backlog %d", after.Subscriptions["go-sub"].MsgBacklog), "skip all")
	}
	must(admin.Subscriptions().ResetCursorToTimestamp(*partition, "go-sub", 0), "reset cursor")
	reset, err := admin.Topics().GetStats(*partition)
	must(err, "stats after reset")
	if reset.Subscriptions["go-sub"].MsgBacklog != backlog {
		must(fmt.Errorf("backlog %d, want %d", reset.Subscriptions["go-sub"].MsgBacklog, backlog), "reset cursor")
	}
	msgs, err := admin.Subscriptions().PeekMessages(*partition, "go-sub", 1)
	must(err, "peek")
	if len(msgs) != 1 || len(msgs[0].Payload) == 0 {
		must(fmt.Errorf("%d messages", len(msgs)), "peek")
	}
	fmt.Printf("peeked %s\n", string(msgs[0].Payload))
	must(admin.Subscriptions().Delete(*partition, "go-sub"), "delete subscription")
	must(admin.Topics().Delete(*topic, true, false), "delete topic")
	must(admin.Namespaces().DeleteNamespace("go-tenant/go-ns"), "delete namespace")
	must(admin.Tenants().Delete("go-tenant"), "delete tenant")
	tenants, err := admin.Tenants().List()
	must(err, "list tenants")
	for _, tenant := range tenants {
		if tenant == "go-tenant" {
			must(fmt.Errorf("still listed"), "delete tenant")
		}
	}
	fmt.Println("ok")
}
