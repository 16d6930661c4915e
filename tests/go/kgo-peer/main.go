// Command kgo-peer is a command-line Kafka client built on franz-go, for rafka's interop tests
// (tests/peers/go_clients.py runs it). It speaks the same command line and JSON lines as the
// Java driver, tests/java/src/rafka/peer/Clients.java, so a test can swap one client for the
// other:
//
//	kgo-peer <command> --bootstrap HOST:PORT [options]
//
//	create-topics    --topic T... [--partitions N] [--replication-factor R]
//	                 [--replica-assignment 1,2:2,1] [--config K=V]... [--validate-only]
//	delete-topics    --topic T...
//	describe-topics  --topic T...
//	describe-configs --topic T
//	produce          --topic T (--input FILE|- | --count N [--keyed] [--value-size S]
//	                 [--null-values] [--headers H] [--partition P] [--timestamp MS])
//	                 [--compression C] [--acks 0|1|all] [--idempotence true|false]
//	                 [--linger-ms MS] [--batch-size B] [--max-request-size B] [--config K=V]...
//	consume          --topic T [--partition P]... [--offset O|earliest|latest] [--count N]
//	                 [--isolation-level read_uncommitted|read_committed]
//	                 [--auto-offset-reset none|earliest|latest]
//	                 [--max-partition-fetch-bytes B] [--fetch-max-bytes B] [--config K=V]...
//	list-offsets     --topic T [--partition P]... [--spec earliest|latest|max-timestamp|
//	                 earliest-local|MILLIS] [--isolation-level ...]
//	common:          [--timeout-ms MS (30000)] [--client-id ID]
//
// Output is one JSON object per line with a "type" (created, deleted, topic, config, produced,
// record, offset, summary, error); bytes are standard base64 or null; an error line names
// Kafka's error code (e.g. TOPIC_ALREADY_EXISTS) or CLIENT_ERROR. Exit status: 0 without error
// lines, 1 with, 2 for a bad command line, 3 for anything unexpected. Generated records follow
// the rules documented in Clients.java.
//
// Where franz-go has no equivalent of a Java option the closest one is used: --batch-size and
// --max-request-size both set ProducerBatchMaxBytes (the larger wins), and only the --config
// keys listed in configOpts are understood. franz-go's own behaviour shows through unchanged:
// for example an exact --offset outside the log is clamped into it rather than failing, and
// produced timestamps are the client's even on LogAppendTime topics.
package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// obj is one output line; encoding/json writes its keys sorted.
type obj = map[string]any

// usageError is a bad command line: exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// flags are the options that take no value.
var flags = map[string]bool{"keyed": true, "null-values": true, "validate-only": true}

type peer struct {
	opts    map[string][]string
	timeout time.Duration
	out     *bufio.Writer
	failed  bool
}

func main() {
	p := &peer{out: bufio.NewWriterSize(os.Stdout, 1<<16)}
	err := p.main(os.Args[1:])
	if ferr := p.out.Flush(); err == nil && ferr != nil {
		err = ferr
	}
	var usage usageError
	switch {
	case errors.As(err, &usage):
		fmt.Fprintln(os.Stderr, "usage error:", usage.msg)
		os.Exit(2)
	case err != nil:
		fmt.Fprintln(os.Stderr, "kgo-peer:", err)
		os.Exit(3)
	case p.failed:
		os.Exit(1)
	}
}

func (p *peer) main(args []string) error {
	if len(args) == 0 {
		return usagef("missing command")
	}
	if err := p.parse(args[1:]); err != nil {
		return err
	}
	ms, err := p.int64Opt("timeout-ms", 30000)
	if err != nil {
		return err
	}
	p.timeout = time.Duration(ms) * time.Millisecond
	commands := map[string]func() error{
		"create-topics":    p.createTopics,
		"delete-topics":    p.deleteTopics,
		"describe-topics":  p.describeTopics,
		"describe-configs": p.describeConfigs,
		"produce":          p.produce,
		"consume":          p.consume,
		"list-offsets":     p.listOffsets,
	}
	run, ok := commands[args[0]]
	if !ok {
		return usagef("unknown command %s", args[0])
	}
	return run()
}

// -- options ----------------------------------------------------------------------------------

func (p *peer) parse(args []string) error {
	p.opts = map[string][]string{}
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if !strings.HasPrefix(arg, "--") || len(arg) == 2 {
			return usagef("unexpected argument %s", arg)
		}
		name, value := arg[2:], "true"
		if !flags[name] {
			if i+1 >= len(args) {
				return usagef("%s needs a value", arg)
			}
			i++
			value = args[i]
		}
		p.opts[name] = append(p.opts[name], value)
	}
	return nil
}

// opt is the last value given for name, or "".
func (p *peer) opt(name string) string {
	if v := p.opts[name]; len(v) > 0 {
		return v[len(v)-1]
	}
	return ""
}

func (p *peer) has(name string) bool { return len(p.opts[name]) > 0 }

func (p *peer) required(name string) (string, error) {
	if !p.has(name) {
		return "", usagef("--%s is required", name)
	}
	return p.opt(name), nil
}

func (p *peer) int64Opt(name string, fallback int64) (int64, error) {
	if !p.has(name) {
		return fallback, nil
	}
	v, err := strconv.ParseInt(p.opt(name), 10, 64)
	if err != nil {
		return 0, usagef("--%s must be a number, not %s", name, p.opt(name))
	}
	return v, nil
}

func (p *peer) partitions() ([]int32, error) {
	var out []int32
	for _, s := range p.opts["partition"] {
		v, err := strconv.ParseInt(s, 10, 32)
		if err != nil {
			return nil, usagef("--partition must be a number, not %s", s)
		}
		out = append(out, int32(v))
	}
	return out, nil
}

// configs are the --config K=V pairs.
func (p *peer) configs() (map[string]string, []string, error) {
	values := map[string]string{}
	var order []string
	for _, pair := range p.opts["config"] {
		k, v, ok := strings.Cut(pair, "=")
		if !ok || k == "" {
			return nil, nil, usagef("--config wants KEY=VALUE, not %s", pair)
		}
		if _, seen := values[k]; !seen {
			order = append(order, k)
		}
		values[k] = v
	}
	return values, order, nil
}

// configOpts maps the Java client configs this driver understands onto franz-go options.
var configOpts = map[string]func(v int64) kgo.Opt{
	"request.timeout.ms":  func(v int64) kgo.Opt { return kgo.ProduceRequestTimeout(ms(v)) },
	"delivery.timeout.ms": func(v int64) kgo.Opt { return kgo.RecordDeliveryTimeout(ms(v)) },
	"max.in.flight.requests.per.connection": func(v int64) kgo.Opt {
		return kgo.MaxProduceRequestsInflightPerBroker(int(v))
	},
	"fetch.max.wait.ms":     func(v int64) kgo.Opt { return kgo.FetchMaxWait(ms(v)) },
	"fetch.min.bytes":       func(v int64) kgo.Opt { return kgo.FetchMinBytes(int32(v)) },
	"metadata.max.age.ms":   func(v int64) kgo.Opt { return kgo.MetadataMaxAge(ms(v)) },
	"retry.backoff.ms":      func(v int64) kgo.Opt { return kgo.RetryBackoffFn(constBackoff(ms(v))) },
	"max.block.ms":          func(int64) kgo.Opt { return nil }, // the context deadline bounds it
	"unknown.topic.retries": func(v int64) kgo.Opt { return kgo.UnknownTopicRetries(int(v)) },
}

func ms(v int64) time.Duration { return time.Duration(v) * time.Millisecond }

func constBackoff(d time.Duration) func(int) time.Duration {
	return func(int) time.Duration { return d }
}

// configKgoOpts turns --config pairs into franz-go options; unknown keys are a usage error.
func (p *peer) configKgoOpts() ([]kgo.Opt, error) {
	values, order, err := p.configs()
	if err != nil {
		return nil, err
	}
	var opts []kgo.Opt
	for _, k := range order {
		mk, ok := configOpts[k]
		if !ok {
			return nil, usagef("--config %s has no franz-go equivalent in this driver", k)
		}
		v, err := strconv.ParseInt(values[k], 10, 64)
		if err != nil {
			return nil, usagef("--config %s wants a number, not %s", k, values[k])
		}
		if o := mk(v); o != nil {
			opts = append(opts, o)
		}
	}
	return opts, nil
}

func (p *peer) client(extra ...kgo.Opt) (*kgo.Client, error) {
	bootstrap, err := p.required("bootstrap")
	if err != nil {
		return nil, err
	}
	opts := []kgo.Opt{kgo.SeedBrokers(strings.Split(bootstrap, ",")...)}
	if id := p.opt("client-id"); id != "" {
		opts = append(opts, kgo.ClientID(id))
	}
	return kgo.NewClient(append(opts, extra...)...)
}

func (p *peer) context() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), p.timeout)
}

// -- output -----------------------------------------------------------------------------------

func (p *peer) emit(line obj) error {
	b, err := json.Marshal(line)
	if err != nil {
		return err
	}
	p.out.Write(b)
	return p.out.WriteByte('\n')
}

// errorLine describes err with Kafka's error name; the exit status becomes 1.
func (p *peer) errorLine(err error, message string) obj {
	p.failed = true
	name := "CLIENT_ERROR"
	var ke *kerr.Error
	switch {
	case errors.As(err, &ke):
		name = ke.Message
	case errors.Is(err, context.DeadlineExceeded):
		name = "REQUEST_TIMED_OUT" // what kafka-clients calls its own timeouts
	}
	if message == "" {
		message = err.Error()
	}
	return obj{"type": "error", "error": name, "exception": fmt.Sprintf("%T", err), "message": message}
}

// b64 is base64 or nil for a null byte string (a JSON null).
func b64(b []byte) any {
	if b == nil {
		return nil
	}
	return base64.StdEncoding.EncodeToString(b)
}

// kafkaUUID prints a topic id as Kafka does: URL-safe base64 without padding.
func kafkaUUID(id [16]byte) string { return base64.RawURLEncoding.EncodeToString(id[:]) }

// -- admin ------------------------------------------------------------------------------------

func (p *peer) topics() ([]string, error) {
	if !p.has("topic") {
		return nil, usagef("--topic is required")
	}
	return p.opts["topic"], nil
}

// replicaAssignment parses "1,2:2,1": partition 0 on brokers 1 and 2, partition 1 on 2 and 1.
func replicaAssignment(spec string) ([]kmsg.CreateTopicsRequestTopicReplicaAssignment, error) {
	var out []kmsg.CreateTopicsRequestTopicReplicaAssignment
	for i, part := range strings.Split(spec, ":") {
		a := kmsg.NewCreateTopicsRequestTopicReplicaAssignment()
		a.Partition = int32(i)
		for _, b := range strings.Split(part, ",") {
			id, err := strconv.ParseInt(strings.TrimSpace(b), 10, 32)
			if err != nil {
				return nil, usagef("bad --replica-assignment %s", spec)
			}
			a.Replicas = append(a.Replicas, int32(id))
		}
		out = append(out, a)
	}
	return out, nil
}

func (p *peer) createTopics() error {
	topics, err := p.topics()
	if err != nil {
		return err
	}
	partitions, err := p.int64Opt("partitions", -1)
	if err != nil {
		return err
	}
	rf, err := p.int64Opt("replication-factor", -1)
	if err != nil {
		return err
	}
	values, order, err := p.configs()
	if err != nil {
		return err
	}
	req := kmsg.NewPtrCreateTopicsRequest()
	req.TimeoutMillis = int32(p.timeout.Milliseconds())
	req.ValidateOnly = p.has("validate-only")
	for _, name := range topics {
		t := kmsg.NewCreateTopicsRequestTopic()
		t.Topic = name
		t.NumPartitions, t.ReplicationFactor = int32(partitions), int16(rf)
		if spec := p.opt("replica-assignment"); spec != "" {
			if t.ReplicaAssignment, err = replicaAssignment(spec); err != nil {
				return err
			}
		}
		for _, k := range order {
			c := kmsg.NewCreateTopicsRequestTopicConfig()
			c.Name, c.Value = k, kmsg.StringPtr(values[k])
			t.Configs = append(t.Configs, c)
		}
		req.Topics = append(req.Topics, t)
	}
	cl, err := p.client()
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx, cancel := p.context()
	defer cancel()
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		for _, name := range topics {
			line := p.errorLine(err, "")
			line["topic"] = name
			if err := p.emit(line); err != nil {
				return err
			}
		}
		return nil
	}
	byName := map[string]kmsg.CreateTopicsResponseTopic{}
	for _, t := range resp.Topics {
		byName[t.Topic] = t
	}
	for _, name := range topics {
		t := byName[name]
		var line obj
		if err := kerr.ErrorForCode(t.ErrorCode); err != nil {
			msg := ""
			if t.ErrorMessage != nil {
				msg = *t.ErrorMessage
			}
			line = p.errorLine(err, msg)
		} else {
			line = obj{
				"type":              "created",
				"topicId":           kafkaUUID(t.TopicID),
				"partitions":        t.NumPartitions,
				"replicationFactor": t.ReplicationFactor,
			}
		}
		line["topic"] = name
		if err := p.emit(line); err != nil {
			return err
		}
	}
	return nil
}

func (p *peer) deleteTopics() error {
	topics, err := p.topics()
	if err != nil {
		return err
	}
	cl, err := p.client()
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx, cancel := p.context()
	defer cancel()
	resps, err := kadm.NewClient(cl).DeleteTopics(ctx, topics...)
	for _, name := range topics {
		var line obj
		switch r, ok := resps[name]; {
		case err != nil:
			line = p.errorLine(err, "")
		case !ok:
			line = p.errorLine(errors.New("no response for topic"), "")
		case r.Err != nil:
			line = p.errorLine(r.Err, r.ErrMessage)
		default:
			line = obj{"type": "deleted"}
		}
		line["topic"] = name
		if err := p.emit(line); err != nil {
			return err
		}
	}
	return nil
}

func (p *peer) describeTopics() error {
	topics, err := p.topics()
	if err != nil {
		return err
	}
	cl, err := p.client()
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx, cancel := p.context()
	defer cancel()
	details, err := kadm.NewClient(cl).ListTopicsWithInternal(ctx, topics...)
	for _, name := range topics {
		var line obj
		switch d, ok := details[name]; {
		case err != nil:
			line = p.errorLine(err, "")
		case !ok:
			line = p.errorLine(kerr.UnknownTopicOrPartition, "")
		case d.Err != nil:
			line = p.errorLine(d.Err, "")
		default:
			var parts []obj
			for _, pd := range d.Partitions.Sorted() {
				parts = append(parts, obj{
					"partition": pd.Partition,
					"leader":    pd.Leader,
					"replicas":  nonNil(pd.Replicas),
					"isr":       nonNil(pd.ISR),
				})
			}
			line = obj{
				"type":       "topic",
				"topicId":    kafkaUUID(d.ID),
				"internal":   d.IsInternal,
				"partitions": parts,
			}
		}
		line["topic"] = name
		if err := p.emit(line); err != nil {
			return err
		}
	}
	return nil
}

func nonNil(ids []int32) []int32 {
	if ids == nil {
		return []int32{}
	}
	return ids
}

// configSources are the names kafka-clients gives DescribeConfigs' config sources.
var configSources = map[int8]string{
	0: "UNKNOWN",
	1: "DYNAMIC_TOPIC_CONFIG",
	2: "DYNAMIC_BROKER_CONFIG",
	3: "DYNAMIC_DEFAULT_BROKER_CONFIG",
	4: "STATIC_BROKER_CONFIG",
	5: "DEFAULT_CONFIG",
	6: "DYNAMIC_BROKER_LOGGER_CONFIG",
	7: "DYNAMIC_CLIENT_METRICS_CONFIG",
	8: "DYNAMIC_GROUP_CONFIG",
}

func (p *peer) describeConfigs() error {
	topic, err := p.required("topic")
	if err != nil {
		return err
	}
	cl, err := p.client()
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx, cancel := p.context()
	defer cancel()
	req := kmsg.NewPtrDescribeConfigsRequest()
	res := kmsg.NewDescribeConfigsRequestResource()
	res.ResourceType, res.ResourceName = kmsg.ConfigResourceTypeTopic, topic
	req.Resources = append(req.Resources, res)
	resp, err := req.RequestWith(ctx, cl)
	if err == nil && len(resp.Resources) != 1 {
		err = errors.New("DescribeConfigs answered without the topic")
	}
	if err == nil {
		r := resp.Resources[0]
		if err = kerr.ErrorForCode(r.ErrorCode); err == nil {
			configs := r.Configs
			sort.Slice(configs, func(i, j int) bool { return configs[i].Name < configs[j].Name })
			for _, c := range configs {
				var value any
				if c.Value != nil {
					value = *c.Value
				}
				source, ok := configSources[int8(c.Source)]
				if !ok {
					source = "UNKNOWN"
				}
				if err := p.emit(obj{
					"type": "config", "topic": topic, "name": c.Name, "value": value,
					"source": source, "sensitive": c.IsSensitive, "readOnly": c.ReadOnly,
				}); err != nil {
					return err
				}
			}
			return nil
		}
		if r.ErrorMessage != nil {
			line := p.errorLine(err, *r.ErrorMessage)
			line["topic"] = topic
			return p.emit(line)
		}
	}
	line := p.errorLine(err, "")
	line["topic"] = topic
	return p.emit(line)
}

// topicPartitions are the --partition values, else every partition of topic (sorted).
func (p *peer) topicPartitions(ctx context.Context, cl *kgo.Client, topic string) ([]int32, error) {
	parts, err := p.partitions()
	if err != nil || len(parts) > 0 {
		return parts, err
	}
	details, err := kadm.NewClient(cl).ListTopics(ctx, topic)
	if err != nil {
		return nil, err
	}
	d, ok := details[topic]
	if !ok {
		return nil, kerr.UnknownTopicOrPartition
	}
	if d.Err != nil {
		return nil, d.Err
	}
	for _, pd := range d.Partitions.Sorted() {
		parts = append(parts, pd.Partition)
	}
	return parts, nil
}

func (p *peer) isolationLevel() (int8, error) {
	switch p.opt("isolation-level") {
	case "", "read_uncommitted":
		return 0, nil
	case "read_committed":
		return 1, nil
	}
	return 0, usagef("bad --isolation-level %s", p.opt("isolation-level"))
}

// listedOffset is one partition's answer to ListOffsets.
type listedOffset struct {
	partition   int32
	offset      int64
	timestamp   int64
	leaderEpoch int32
	err         error
}

// listOffsetsAt sends one ListOffsets for partitions of topic at timestamp (-1 latest,
// -2 earliest, -3 max-timestamp, -4 earliest-local, else a time); the client routes each
// partition to its leader.
func listOffsetsAt(ctx context.Context, cl *kgo.Client, topic string, parts []int32,
	timestamp int64, isolation int8) ([]listedOffset, error) {
	req := kmsg.NewPtrListOffsetsRequest()
	req.ReplicaID = -1
	req.IsolationLevel = isolation
	t := kmsg.NewListOffsetsRequestTopic()
	t.Topic = topic
	for _, part := range parts {
		rp := kmsg.NewListOffsetsRequestTopicPartition()
		rp.Partition, rp.Timestamp, rp.CurrentLeaderEpoch = part, timestamp, -1
		t.Partitions = append(t.Partitions, rp)
	}
	req.Topics = append(req.Topics, t)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return nil, err
	}
	found := map[int32]listedOffset{}
	for _, rt := range resp.Topics {
		for _, rp := range rt.Partitions {
			found[rp.Partition] = listedOffset{
				rp.Partition, rp.Offset, rp.Timestamp, rp.LeaderEpoch, kerr.ErrorForCode(rp.ErrorCode),
			}
		}
	}
	out := make([]listedOffset, 0, len(parts))
	for _, part := range parts {
		lo, ok := found[part]
		if !ok {
			lo = listedOffset{partition: part, err: errors.New("no answer for partition")}
		}
		out = append(out, lo)
	}
	return out, nil
}

func (p *peer) listOffsets() error {
	topic, err := p.required("topic")
	if err != nil {
		return err
	}
	isolation, err := p.isolationLevel()
	if err != nil {
		return err
	}
	var ts int64
	switch spec := p.opt("spec"); spec {
	case "", "latest":
		ts = -1
	case "earliest":
		ts = -2
	case "max-timestamp":
		ts = -3
	case "earliest-local":
		ts = -4
	default:
		if ts, err = strconv.ParseInt(spec, 10, 64); err != nil {
			return usagef("bad --spec %s", spec)
		}
	}
	cl, err := p.client()
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx, cancel := p.context()
	defer cancel()
	parts, err := p.topicPartitions(ctx, cl, topic)
	var offsets []listedOffset
	if err == nil {
		offsets, err = listOffsetsAt(ctx, cl, topic, parts, ts, isolation)
	}
	var usage usageError
	if errors.As(err, &usage) {
		return err
	}
	if err != nil {
		line := p.errorLine(err, "")
		line["topic"] = topic
		return p.emit(line)
	}
	for _, lo := range offsets {
		var line obj
		if lo.err != nil {
			line = p.errorLine(lo.err, "")
		} else {
			var epoch any
			if lo.leaderEpoch >= 0 {
				epoch = lo.leaderEpoch
			}
			line = obj{"type": "offset", "offset": lo.offset, "timestamp": lo.timestamp, "leaderEpoch": epoch}
		}
		line["topic"], line["partition"] = topic, lo.partition
		if err := p.emit(line); err != nil {
			return err
		}
	}
	return nil
}

// -- produce ----------------------------------------------------------------------------------

// inputRecord is one line of --input.
type inputRecord struct {
	Key       []byte `json:"key"`
	Value     []byte `json:"value"`
	Partition *int32 `json:"partition"`
	Timestamp *int64 `json:"timestamp"`
	Headers   []struct {
		Key   string `json:"key"`
		Value []byte `json:"value"`
	} `json:"headers"`
}

// record is a record to produce and whether its partition was chosen by the caller.
type record struct {
	*kgo.Record
	explicitPartition bool
}

func (p *peer) inputRecords(topic, path string) ([]record, error) {
	f := os.Stdin
	if path != "-" {
		var err error
		if f, err = os.Open(path); err != nil {
			return nil, err
		}
		defer f.Close()
	}
	var out []record
	scanner := bufio.NewScanner(f)
	scanner.Buffer(make([]byte, 1<<20), 1<<30) // lines carry base64 values of many MB
	for scanner.Scan() {
		text := strings.TrimSpace(scanner.Text())
		if text == "" {
			continue
		}
		var in inputRecord
		if err := json.Unmarshal([]byte(text), &in); err != nil {
			return nil, usagef("bad input record %q: %v", text, err)
		}
		r := &kgo.Record{Topic: topic, Key: in.Key, Value: in.Value}
		for _, h := range in.Headers {
			r.Headers = append(r.Headers, kgo.RecordHeader{Key: h.Key, Value: h.Value})
		}
		if in.Timestamp != nil {
			r.Timestamp = time.UnixMilli(*in.Timestamp)
		}
		if in.Partition != nil {
			r.Partition = *in.Partition
		}
		out = append(out, record{r, in.Partition != nil})
	}
	return out, scanner.Err()
}

func (p *peer) generatedRecords(topic string) ([]record, error) {
	count, err := p.int64Opt("count", 0)
	if err != nil {
		return nil, err
	}
	valueSize, err := p.int64Opt("value-size", -1)
	if err != nil {
		return nil, err
	}
	headers, err := p.int64Opt("headers", 0)
	if err != nil {
		return nil, err
	}
	partition, err := p.int64Opt("partition", -1)
	if err != nil {
		return nil, err
	}
	timestamp, err := p.int64Opt("timestamp", 0)
	if err != nil {
		return nil, err
	}
	out := make([]record, 0, count)
	for i := int64(0); i < count; i++ {
		r := &kgo.Record{Topic: topic}
		if p.has("keyed") {
			r.Key = []byte(fmt.Sprintf("key-%d", i))
		}
		switch {
		case p.has("null-values"):
		case valueSize < 0:
			r.Value = []byte(fmt.Sprintf("value-%d", i))
		default:
			r.Value = make([]byte, valueSize)
			for j := range r.Value {
				r.Value[j] = byte(i + int64(j))
			}
		}
		for j := int64(0); j < headers; j++ {
			r.Headers = append(r.Headers, kgo.RecordHeader{
				Key: fmt.Sprintf("h%d", j), Value: []byte(fmt.Sprintf("v%d-%d", i, j)),
			})
		}
		if p.has("timestamp") {
			r.Timestamp = time.UnixMilli(timestamp)
		}
		if partition >= 0 {
			r.Partition = int32(partition)
		}
		out = append(out, record{r, partition >= 0})
	}
	return out, nil
}

var codecs = map[string]kgo.CompressionCodec{
	"none":   kgo.NoCompression(),
	"gzip":   kgo.GzipCompression(),
	"snappy": kgo.SnappyCompression(),
	"lz4":    kgo.Lz4Compression(),
	"zstd":   kgo.ZstdCompression(),
}

// producerOpts mirrors the Java driver's options; unset ones keep franz-go's defaults (acks=all,
// idempotent writes), like kafka-clients keeps its own.
func (p *peer) producerOpts(records []record) ([]kgo.Opt, error) {
	var opts []kgo.Opt
	if c := p.opt("compression"); c != "" {
		codec, ok := codecs[c]
		if !ok {
			return nil, usagef("bad --compression %s", c)
		}
		opts = append(opts, kgo.ProducerBatchCompression(codec))
	}
	idempotence := p.opt("idempotence")
	switch acks := p.opt("acks"); acks {
	case "", "all", "-1":
		opts = append(opts, kgo.RequiredAcks(kgo.AllISRAcks()))
	case "0", "1":
		if idempotence == "true" {
			return nil, usagef("--idempotence true needs --acks all")
		}
		// As in kafka-clients: acks other than all turn the default idempotence off.
		idempotence = "false"
		if acks == "0" {
			opts = append(opts, kgo.RequiredAcks(kgo.NoAck()))
		} else {
			opts = append(opts, kgo.RequiredAcks(kgo.LeaderAck()))
		}
	default:
		return nil, usagef("bad --acks %s", acks)
	}
	if idempotence == "false" {
		opts = append(opts, kgo.DisableIdempotentWrite())
	}
	if p.has("linger-ms") {
		v, err := p.int64Opt("linger-ms", 0)
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.ProducerLinger(ms(v)))
	}
	maxBatch := int64(0)
	for _, name := range []string{"batch-size", "max-request-size"} {
		v, err := p.int64Opt(name, 0)
		if err != nil {
			return nil, err
		}
		maxBatch = max(maxBatch, v)
	}
	if maxBatch > 0 {
		opts = append(opts, kgo.ProducerBatchMaxBytes(int32(maxBatch)))
	}
	// Either the caller picks every record's partition or the default partitioner picks all.
	explicit := 0
	for _, r := range records {
		if r.explicitPartition {
			explicit++
		}
	}
	switch explicit {
	case 0:
	case len(records):
		opts = append(opts, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	default:
		return nil, usagef("either every record or none names its partition")
	}
	extra, err := p.configKgoOpts()
	return append(opts, extra...), err
}

func (p *peer) produce() error {
	topic, err := p.required("topic")
	if err != nil {
		return err
	}
	var records []record
	if input := p.opt("input"); input != "" {
		records, err = p.inputRecords(topic, input)
	} else {
		records, err = p.generatedRecords(topic)
	}
	if err != nil {
		return err
	}
	opts, err := p.producerOpts(records)
	if err != nil {
		return err
	}
	cl, err := p.client(opts...)
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx, cancel := p.context()
	defer cancel()

	results := make([]error, len(records))
	var wg sync.WaitGroup
	wg.Add(len(records))
	for i, r := range records {
		cl.Produce(ctx, r.Record, func(_ *kgo.Record, err error) {
			results[i] = err
			wg.Done()
		})
	}
	wg.Wait() // every promise runs, on success, failure or the context's deadline

	produced := 0
	for i, r := range records {
		var line obj
		if err := results[i]; err != nil {
			line = p.errorLine(err, "")
		} else {
			produced++
			line = obj{
				"type":      "produced",
				"partition": r.Partition,
				"offset":    r.Offset,
				"timestamp": r.Timestamp.UnixMilli(),
			}
		}
		line["index"] = i
		if err := p.emit(line); err != nil {
			return err
		}
	}
	return p.emit(obj{"type": "summary", "produced": produced, "failed": len(records) - produced})
}

// -- consume ----------------------------------------------------------------------------------

func (p *peer) consume() error {
	topic, err := p.required("topic")
	if err != nil {
		return err
	}
	count, err := p.int64Opt("count", -1)
	if err != nil {
		return err
	}
	isolation, err := p.isolationLevel()
	if err != nil {
		return err
	}
	ctx, cancel := p.context()
	defer cancel()

	// A plain client first: which partitions, and where the log starts and ends.
	meta, err := p.client()
	if err != nil {
		return err
	}
	parts, err := p.topicPartitions(ctx, meta, topic)
	var starts, ends []listedOffset
	if err == nil {
		starts, err = listOffsetsAt(ctx, meta, topic, parts, -2, isolation)
	}
	if err == nil {
		ends, err = listOffsetsAt(ctx, meta, topic, parts, -1, isolation)
	}
	meta.Close()
	var usage usageError
	if errors.As(err, &usage) {
		return err
	}
	if err != nil {
		line := p.errorLine(err, "")
		line["topic"] = topic
		if err := p.emit(line); err != nil {
			return err
		}
		return p.emit(obj{"type": "summary", "consumed": 0})
	}

	// position[p] is the next offset expected from p; without --count the command reads until
	// every position reaches the end offset listed above.
	position := map[int32]int64{}
	end := map[int32]int64{}
	offsets := map[int32]kgo.Offset{}
	for i, part := range parts {
		end[part] = ends[i].offset
		switch at := p.opt("offset"); at {
		case "", "earliest":
			offsets[part], position[part] = kgo.NewOffset().AtStart(), starts[i].offset
		case "latest":
			offsets[part], position[part] = kgo.NewOffset().AtEnd(), ends[i].offset
		default:
			o, err := strconv.ParseInt(at, 10, 64)
			if err != nil {
				return usagef("bad --offset %s", at)
			}
			offsets[part], position[part] = kgo.NewOffset().At(o), o
		}
	}

	opts := []kgo.Opt{kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: offsets})}
	switch reset := p.opt("auto-offset-reset"); reset {
	case "", "none":
		opts = append(opts, kgo.ConsumeResetOffset(kgo.NoResetOffset()))
	case "earliest":
		opts = append(opts, kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	case "latest":
		opts = append(opts, kgo.ConsumeResetOffset(kgo.NewOffset().AtEnd()))
	default:
		return usagef("bad --auto-offset-reset %s", reset)
	}
	if isolation == 1 {
		opts = append(opts, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	}
	for name, opt := range map[string]func(int32) kgo.Opt{
		"max-partition-fetch-bytes": func(v int32) kgo.Opt { return kgo.FetchMaxPartitionBytes(v) },
		"fetch-max-bytes":           func(v int32) kgo.Opt { return kgo.FetchMaxBytes(v) },
	} {
		if p.has(name) {
			v, err := p.int64Opt(name, 0)
			if err != nil {
				return err
			}
			opts = append(opts, opt(int32(v)))
		}
	}
	extra, err := p.configKgoOpts()
	if err != nil {
		return err
	}
	cl, err := p.client(append(opts, extra...)...)
	if err != nil {
		return err
	}
	defer cl.Close()

	consumed := int64(0)
	done := func() bool {
		if count >= 0 {
			return consumed >= count
		}
		for part, e := range end {
			if position[part] < e {
				return false
			}
		}
		return true
	}
	for !done() {
		fetches := cl.PollFetches(ctx)
		for _, fe := range fetches.Errors() {
			line := p.errorLine(fe.Err, "")
			if errors.Is(fe.Err, context.DeadlineExceeded) {
				line["error"] = "TIMEOUT"
				line["message"] = fmt.Sprintf("consumed %d record(s) before the timeout", consumed)
			} else {
				line["topic"], line["partition"] = fe.Topic, fe.Partition
			}
			if err := p.emit(line); err != nil {
				return err
			}
		}
		if len(fetches.Errors()) > 0 {
			break
		}
		for _, r := range fetches.Records() {
			if count >= 0 && consumed >= count {
				break
			}
			if err := p.emit(recordLine(r)); err != nil {
				return err
			}
			consumed++
			position[r.Partition] = r.Offset + 1
		}
	}
	return p.emit(obj{"type": "summary", "consumed": consumed})
}

func recordLine(r *kgo.Record) obj {
	headers := make([]obj, 0, len(r.Headers))
	for _, h := range r.Headers {
		headers = append(headers, obj{"key": h.Key, "value": b64(h.Value)})
	}
	timestampType := "CreateTime"
	switch r.Attrs.TimestampType() {
	case 1:
		timestampType = "LogAppendTime"
	case -1:
		timestampType = "NoTimestampType"
	}
	var epoch any
	if r.LeaderEpoch >= 0 {
		epoch = r.LeaderEpoch
	}
	return obj{
		"type":          "record",
		"topic":         r.Topic,
		"partition":     r.Partition,
		"offset":        r.Offset,
		"timestamp":     r.Timestamp.UnixMilli(),
		"timestampType": timestampType,
		"key":           b64(r.Key),
		"value":         b64(r.Value),
		"headers":       headers,
		"leaderEpoch":   epoch,
	}
}
