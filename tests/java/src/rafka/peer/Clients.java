package rafka.peer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.CreateTopicsOptions;
import org.apache.kafka.clients.admin.CreateTopicsResult;
import org.apache.kafka.clients.admin.DeleteTopicsResult;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.ListOffsetsResult.ListOffsetsResultInfo;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.InvalidOffsetException;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.UnknownServerException;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

import java.io.BufferedReader;
import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * A command-line Kafka client built on kafka-clients' Producer, Consumer and Admin, for rafka's
 * interop tests (tests/peers/java_clients.py runs it; tests/go/kgo-peer speaks the same
 * command line and JSON with franz-go).
 *
 * <pre>
 *   Clients &lt;command&gt; --bootstrap HOST:PORT [options]
 *
 *   create-topics    --topic T... [--partitions N] [--replication-factor R]
 *                    [--replica-assignment 1,2:2,1] [--config K=V]... [--validate-only]
 *   delete-topics    --topic T...
 *   describe-topics  --topic T...
 *   describe-configs --topic T
 *   produce          --topic T  (--input FILE|- | --count N [--keyed] [--value-size S]
 *                    [--null-values] [--headers H] [--partition P] [--timestamp MS])
 *                    [--compression C] [--acks 0|1|all] [--idempotence true|false]
 *                    [--linger-ms MS] [--batch-size B] [--max-request-size B] [--config K=V]...
 *                    [--sequential] [--metric NAME]...
 *   consume          --topic T [--partition P]... [--offset O|earliest|latest] [--count N]
 *                    [--isolation-level read_uncommitted|read_committed]
 *                    [--auto-offset-reset none|earliest|latest]
 *                    [--max-partition-fetch-bytes B] [--fetch-max-bytes B] [--config K=V]...
 *                    [--metric NAME]...
 *   list-offsets     --topic T [--partition P]... [--spec earliest|latest|max-timestamp|
 *                    earliest-local|MILLIS] [--isolation-level ...]
 *   group-consume    --topic T --group G [--group-protocol classic|consumer]
 *                    [--session-ms MS] [--heartbeat-ms MS] [--instance-id ID] [--config K=V]...
 *                    (runs until SIGTERM, then leaves the group; see groupConsume)
 *   common:          [--timeout-ms MS (30000)] [--client-id ID]
 * </pre>
 *
 * <p>Output: one JSON object per line on stdout, each with a {@code "type"}: {@code created},
 * {@code deleted}, {@code topic}, {@code config}, {@code produced}, {@code record},
 * {@code offset}, {@code metric}, {@code summary} or {@code error}. Bytes (keys, values, header
 * values) are standard base64 or null. An error line names Kafka's error code ({@code Errors}
 * name, e.g. {@code TOPIC_ALREADY_EXISTS}), or {@code CLIENT_ERROR} for a failure that has no
 * error code, plus the exception class and message. Exit status: 0 when no error line was
 * printed, 1 when one was, 2 for a bad command line, 3 for anything unexpected (stack trace on
 * stderr).
 *
 * <p>Generated records ({@code --count}) are deterministic so the Python side can rebuild
 * them: record {@code i} has key {@code "key-i"} (with {@code --keyed}, else null), value
 * {@code "value-i"}, or with {@code --value-size S} the S bytes {@code (i + j) & 0xff}, or null
 * with {@code --null-values}, and headers {@code ("h" + j, "v" + i + "-" + j)} for
 * {@code j < H}. An input file holds one JSON record per line: {@code key}, {@code value}
 * (base64 or null), {@code headers} ({@code [{"key": str, "value": base64|null}]}) and
 * optionally {@code partition} and {@code timestamp}.
 *
 * <p>{@code produce --sequential} waits for each record's acknowledgement (or failure) before
 * sending the next, so each record travels in a Produce request of its own. {@code --metric NAME}
 * (produce, consume; repeatable) prints, once the work is done and before the client closes, a
 * {@code metric} line ({@code group}, {@code name}, {@code tags}, {@code value}; null for NaN)
 * for each of the client's metrics called NAME, e.g. {@code produce-throttle-time-max}. Both are
 * options of this Java driver only.
 */
public final class Clients {

    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final Base64.Encoder B64 = Base64.getEncoder();
    private static final Base64.Decoder UNB64 = Base64.getDecoder();

    /** Options that take no value. */
    private static final Set<String> FLAGS =
            Set.of("keyed", "null-values", "validate-only", "sequential");

    private final PrintStream out;
    private final Map<String, List<String>> options;
    private final Duration timeout;
    private boolean failed;

    /** A bad command line: exit status 2. */
    private static final class UsageException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        UsageException(String message) {
            super(message);
        }
    }

    private Clients(PrintStream out, Map<String, List<String>> options) {
        this.out = out;
        this.options = options;
        this.timeout = Duration.ofMillis(longOption("timeout-ms", 30_000L));
    }

    public static void main(String[] args) {
        PrintStream out = new PrintStream(
                new FileOutputStream(FileDescriptor.out), false, StandardCharsets.UTF_8);
        int status;
        try {
            if (args.length == 0) {
                throw new UsageException("missing command");
            }
            Clients clients = new Clients(out, parse(args));
            clients.run(args[0]);
            status = clients.failed ? 1 : 0;
        } catch (UsageException e) {
            System.err.println("usage error: " + e.getMessage());
            status = 2;
        } catch (Exception e) {
            e.printStackTrace();
            status = 3;
        }
        out.flush();
        System.exit(status);
    }

    /** {@code --name value} pairs (repeatable) and bare {@code --flag}s after the command. */
    private static Map<String, List<String>> parse(String[] args) {
        Map<String, List<String>> options = new HashMap<>();
        for (int i = 1; i < args.length; i++) {
            String arg = args[i];
            if (!arg.startsWith("--") || arg.length() == 2) {
                throw new UsageException("unexpected argument " + arg);
            }
            String name = arg.substring(2);
            String value;
            if (FLAGS.contains(name)) {
                value = "true";
            } else if (i + 1 < args.length) {
                value = args[++i];
            } else {
                throw new UsageException(arg + " needs a value");
            }
            options.computeIfAbsent(name, k -> new ArrayList<>()).add(value);
        }
        return options;
    }

    private void run(String command) throws Exception {
        switch (command) {
            case "create-topics" -> createTopics();
            case "delete-topics" -> deleteTopics();
            case "describe-topics" -> describeTopics();
            case "describe-configs" -> describeConfigs();
            case "produce" -> produce();
            case "consume" -> consume();
            case "list-offsets" -> listOffsets();
            case "group-consume" -> groupConsume();
            default -> throw new UsageException("unknown command " + command);
        }
    }

    // -- options ------------------------------------------------------------------------------

    private String option(String name) {
        List<String> values = options.get(name);
        return values == null ? null : values.get(values.size() - 1);
    }

    private String required(String name) {
        String value = option(name);
        if (value == null) {
            throw new UsageException("--" + name + " is required");
        }
        return value;
    }

    private List<String> all(String name) {
        return options.getOrDefault(name, List.of());
    }

    private boolean flag(String name) {
        return option(name) != null;
    }

    private long longOption(String name, long fallback) {
        String value = option(name);
        try {
            return value == null ? fallback : Long.parseLong(value);
        } catch (NumberFormatException e) {
            throw new UsageException("--" + name + " must be a number, not " + value);
        }
    }

    private Integer intOrNull(String name) {
        String value = option(name);
        return value == null ? null : (int) longOption(name, 0);
    }

    /** {@code --config K=V} pairs, in order. */
    private Map<String, String> configs() {
        Map<String, String> configs = new LinkedHashMap<>();
        for (String pair : all("config")) {
            int eq = pair.indexOf('=');
            if (eq <= 0) {
                throw new UsageException("--config wants KEY=VALUE, not " + pair);
            }
            configs.put(pair.substring(0, eq), pair.substring(eq + 1));
        }
        return configs;
    }

    private List<Integer> partitions() {
        List<Integer> partitions = new ArrayList<>();
        for (String p : all("partition")) {
            try {
                partitions.add(Integer.parseInt(p));
            } catch (NumberFormatException e) {
                throw new UsageException("--partition must be a number, not " + p);
            }
        }
        return partitions;
    }

    private Properties clientProperties() {
        Properties props = new Properties();
        props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, required("bootstrap"));
        String clientId = option("client-id");
        if (clientId != null) {
            props.put(AdminClientConfig.CLIENT_ID_CONFIG, clientId);
        }
        return props;
    }

    private Admin admin() {
        Properties props = clientProperties();
        int ms = (int) timeout.toMillis();
        props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, ms);
        props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, Math.min(ms, 30_000));
        return Admin.create(props);
    }

    // -- output -------------------------------------------------------------------------------

    private static Map<String, Object> line(String type) {
        Map<String, Object> line = new LinkedHashMap<>();
        line.put("type", type);
        return line;
    }

    private void emit(Map<String, Object> line) throws IOException {
        out.print(MAPPER.writeValueAsString(line));
        out.print('\n');
    }

    /** An error line for {@code t}; the exit status becomes 1. */
    private Map<String, Object> error(Throwable t) {
        Throwable cause = t;
        while ((cause instanceof ExecutionException
                || cause instanceof java.util.concurrent.CompletionException)
                && cause.getCause() != null) {
            cause = cause.getCause();
        }
        Errors code = Errors.forException(cause);
        String name = code == Errors.UNKNOWN_SERVER_ERROR && !(cause instanceof UnknownServerException)
                ? "CLIENT_ERROR"
                : code.name();
        // The consumer's own exception for the broker's OFFSET_OUT_OF_RANGE has no error code.
        if (cause instanceof org.apache.kafka.clients.consumer.OffsetOutOfRangeException) {
            name = Errors.OFFSET_OUT_OF_RANGE.name();
        }
        failed = true;
        Map<String, Object> line = line("error");
        line.put("error", name);
        line.put("exception", cause.getClass().getName());
        line.put("message", cause.getMessage());
        return line;
    }

    private static String b64(byte[] bytes) {
        return bytes == null ? null : B64.encodeToString(bytes);
    }

    private static byte[] unb64(JsonNode node) {
        return node == null || node.isNull() ? null : UNB64.decode(node.asText());
    }

    private <T> T await(KafkaFuture<T> future) throws Exception {
        return future.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    // -- admin --------------------------------------------------------------------------------

    /** {@code "1,2:2,1"}: partition 0 on brokers 1 and 2, partition 1 on 2 and 1. */
    private static Map<Integer, List<Integer>> replicaAssignment(String spec) {
        Map<Integer, List<Integer>> assignment = new LinkedHashMap<>();
        String[] parts = spec.split(":");
        for (int p = 0; p < parts.length; p++) {
            List<Integer> replicas = new ArrayList<>();
            for (String broker : parts[p].split(",")) {
                replicas.add(Integer.parseInt(broker.trim()));
            }
            assignment.put(p, replicas);
        }
        return assignment;
    }

    private void createTopics() throws Exception {
        List<String> topics = all("topic");
        if (topics.isEmpty()) {
            throw new UsageException("--topic is required");
        }
        Integer partitions = intOrNull("partitions");
        String rf = option("replication-factor");
        String assignment = option("replica-assignment");
        List<NewTopic> newTopics = new ArrayList<>();
        for (String topic : topics) {
            NewTopic newTopic = assignment != null
                    ? new NewTopic(topic, replicaAssignment(assignment))
                    : new NewTopic(topic, Optional.ofNullable(partitions),
                            Optional.ofNullable(rf == null ? null : Short.valueOf(rf)));
            newTopics.add(newTopic.configs(configs()));
        }
        try (Admin admin = admin()) {
            CreateTopicsOptions opts = new CreateTopicsOptions().validateOnly(flag("validate-only"));
            CreateTopicsResult result = admin.createTopics(newTopics, opts);
            for (String topic : topics) {
                Map<String, Object> line;
                try {
                    await(result.values().get(topic));
                    line = line("created");
                    line.put("topic", topic);
                    line.put("topicId", await(result.topicId(topic)).toString());
                    line.put("partitions", await(result.numPartitions(topic)));
                    line.put("replicationFactor", await(result.replicationFactor(topic)));
                } catch (ExecutionException e) {
                    line = error(e);
                    line.put("topic", topic);
                }
                emit(line);
            }
        }
    }

    private void deleteTopics() throws Exception {
        List<String> topics = all("topic");
        try (Admin admin = admin()) {
            DeleteTopicsResult result = admin.deleteTopics(topics);
            Map<String, KafkaFuture<Void>> futures = result.topicNameValues();
            for (String topic : topics) {
                Map<String, Object> line;
                try {
                    await(futures.get(topic));
                    line = line("deleted");
                } catch (ExecutionException e) {
                    line = error(e);
                }
                line.put("topic", topic);
                emit(line);
            }
        }
    }

    private static List<Integer> ids(List<Node> nodes) {
        List<Integer> ids = new ArrayList<>();
        for (Node node : nodes) {
            ids.add(node.id());
        }
        return ids;
    }

    private void describeTopics() throws Exception {
        List<String> topics = all("topic");
        try (Admin admin = admin()) {
            Map<String, KafkaFuture<TopicDescription>> futures =
                    admin.describeTopics(topics).topicNameValues();
            for (String topic : topics) {
                Map<String, Object> line;
                try {
                    TopicDescription description = await(futures.get(topic));
                    line = line("topic");
                    line.put("topic", topic);
                    line.put("topicId", description.topicId().toString());
                    line.put("internal", description.isInternal());
                    List<Map<String, Object>> partitions = new ArrayList<>();
                    for (TopicPartitionInfo info : description.partitions()) {
                        Map<String, Object> p = new LinkedHashMap<>();
                        p.put("partition", info.partition());
                        p.put("leader", info.leader() == null ? -1 : info.leader().id());
                        p.put("replicas", ids(info.replicas()));
                        p.put("isr", ids(info.isr()));
                        partitions.add(p);
                    }
                    line.put("partitions", partitions);
                } catch (ExecutionException e) {
                    line = error(e);
                    line.put("topic", topic);
                }
                emit(line);
            }
        }
    }

    private void describeConfigs() throws Exception {
        String topic = required("topic");
        ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, topic);
        try (Admin admin = admin()) {
            try {
                Config config = await(admin.describeConfigs(List.of(resource)).values().get(resource));
                // Sorted by name: both drivers print configs in the same order.
                Map<String, ConfigEntry> sorted = new TreeMap<>();
                for (ConfigEntry entry : config.entries()) {
                    sorted.put(entry.name(), entry);
                }
                for (ConfigEntry entry : sorted.values()) {
                    Map<String, Object> line = line("config");
                    line.put("topic", topic);
                    line.put("name", entry.name());
                    line.put("value", entry.value());
                    line.put("source", entry.source().name());
                    line.put("sensitive", entry.isSensitive());
                    line.put("readOnly", entry.isReadOnly());
                    emit(line);
                }
            } catch (ExecutionException e) {
                Map<String, Object> line = error(e);
                line.put("topic", topic);
                emit(line);
            }
        }
    }

    /** Partitions named with --partition, else all partitions of the topic. */
    private List<TopicPartition> topicPartitions(Admin admin, String topic) throws Exception {
        List<TopicPartition> tps = new ArrayList<>();
        List<Integer> partitions = partitions();
        if (partitions.isEmpty()) {
            TopicDescription description =
                    await(admin.describeTopics(List.of(topic)).topicNameValues().get(topic));
            for (TopicPartitionInfo info : description.partitions()) {
                partitions.add(info.partition());
            }
        }
        for (int p : partitions) {
            tps.add(new TopicPartition(topic, p));
        }
        return tps;
    }

    private IsolationLevel isolationLevel() {
        String level = option("isolation-level");
        return level == null
                ? IsolationLevel.READ_UNCOMMITTED
                : IsolationLevel.valueOf(level.toUpperCase(Locale.ROOT));
    }

    private OffsetSpec offsetSpec() {
        String spec = option("spec");
        if (spec == null) {
            return OffsetSpec.latest();
        }
        return switch (spec) {
            case "earliest" -> OffsetSpec.earliest();
            case "latest" -> OffsetSpec.latest();
            case "max-timestamp" -> OffsetSpec.maxTimestamp();
            case "earliest-local" -> OffsetSpec.earliestLocal();
            default -> OffsetSpec.forTimestamp(longOption("spec", 0));
        };
    }

    private void listOffsets() throws Exception {
        String topic = required("topic");
        OffsetSpec spec = offsetSpec();
        try (Admin admin = admin()) {
            List<TopicPartition> tps;
            try {
                tps = topicPartitions(admin, topic);
            } catch (ExecutionException e) {
                Map<String, Object> line = error(e);
                line.put("topic", topic);
                emit(line);
                return;
            }
            Map<TopicPartition, OffsetSpec> request = new LinkedHashMap<>();
            for (TopicPartition tp : tps) {
                request.put(tp, spec);
            }
            var result = admin.listOffsets(request, new ListOffsetsOptions(isolationLevel()));
            for (TopicPartition tp : tps) {
                Map<String, Object> line;
                try {
                    ListOffsetsResultInfo info = await(result.partitionResult(tp));
                    line = line("offset");
                    line.put("topic", topic);
                    line.put("partition", tp.partition());
                    line.put("offset", info.offset());
                    line.put("timestamp", info.timestamp());
                    line.put("leaderEpoch", info.leaderEpoch().orElse(null));
                } catch (ExecutionException e) {
                    line = error(e);
                    line.put("topic", topic);
                    line.put("partition", tp.partition());
                }
                emit(line);
            }
        }
    }

    // -- produce ------------------------------------------------------------------------------

    private List<ProducerRecord<byte[], byte[]>> inputRecords(String topic, String path)
            throws IOException {
        List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
        InputStream in = path.equals("-") ? System.in : new FileInputStream(path);
        try (BufferedReader reader =
                new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
            String text;
            while ((text = reader.readLine()) != null) {
                if (text.isBlank()) {
                    continue;
                }
                JsonNode node = MAPPER.readTree(text);
                List<Header> headers = new ArrayList<>();
                JsonNode hs = node.get("headers");
                if (hs != null && hs.isArray()) {
                    for (JsonNode h : hs) {
                        headers.add(new RecordHeader(h.get("key").asText(), unb64(h.get("value"))));
                    }
                }
                JsonNode partition = node.get("partition");
                JsonNode timestamp = node.get("timestamp");
                records.add(new ProducerRecord<>(
                        topic,
                        partition == null || partition.isNull() ? null : partition.asInt(),
                        timestamp == null || timestamp.isNull() ? null : timestamp.asLong(),
                        unb64(node.get("key")),
                        unb64(node.get("value")),
                        headers));
            }
        }
        return records;
    }

    private List<ProducerRecord<byte[], byte[]>> generatedRecords(String topic) {
        int count = (int) longOption("count", 0);
        boolean keyed = flag("keyed");
        boolean nullValues = flag("null-values");
        int valueSize = (int) longOption("value-size", -1);
        int headerCount = (int) longOption("headers", 0);
        Integer partition = intOrNull("partition");
        String ts = option("timestamp");
        Long timestamp = ts == null ? null : longOption("timestamp", 0);
        List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            byte[] key = keyed ? ("key-" + i).getBytes(StandardCharsets.UTF_8) : null;
            byte[] value = null;
            if (!nullValues && valueSize < 0) {
                value = ("value-" + i).getBytes(StandardCharsets.UTF_8);
            } else if (!nullValues) {
                value = new byte[valueSize];
                for (int j = 0; j < valueSize; j++) {
                    value[j] = (byte) (i + j);
                }
            }
            List<Header> headers = new ArrayList<>();
            for (int j = 0; j < headerCount; j++) {
                headers.add(new RecordHeader("h" + j,
                        ("v" + i + "-" + j).getBytes(StandardCharsets.UTF_8)));
            }
            records.add(new ProducerRecord<>(topic, partition, timestamp, key, value, headers));
        }
        return records;
    }

    private Properties producerProperties() {
        Properties props = clientProperties();
        props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        // How long send() may wait for metadata (a missing topic): the command's timeout.
        props.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, timeout.toMillis());
        // Everything else keeps the client's defaults unless asked: acks=all, idempotence on.
        String[][] mapped = {
            {"compression", ProducerConfig.COMPRESSION_TYPE_CONFIG},
            {"acks", ProducerConfig.ACKS_CONFIG},
            {"idempotence", ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG},
            {"linger-ms", ProducerConfig.LINGER_MS_CONFIG},
            {"batch-size", ProducerConfig.BATCH_SIZE_CONFIG},
            {"max-request-size", ProducerConfig.MAX_REQUEST_SIZE_CONFIG},
        };
        for (String[] m : mapped) {
            String value = option(m[0]);
            if (value != null) {
                props.put(m[1], value);
            }
        }
        props.putAll(configs());
        return props;
    }

    private void produce() throws Exception {
        String topic = required("topic");
        String input = option("input");
        List<ProducerRecord<byte[], byte[]>> records =
                input != null ? inputRecords(topic, input) : generatedRecords(topic);
        // Per record: the send's Future, or the Throwable that failed it before it was sent.
        List<Object> outcomes = new ArrayList<>();
        Throwable metadataTimeout = null;
        boolean sequential = flag("sequential");
        int produced = 0;
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(producerProperties())) {
            for (ProducerRecord<byte[], byte[]> record : records) {
                if (metadataTimeout != null) {
                    // send() waited max.block.ms for the topic's metadata and gave up; every
                    // further send would wait as long again for the same answer.
                    outcomes.add(metadataTimeout);
                    continue;
                }
                try {
                    Future<RecordMetadata> future = producer.send(record);
                    outcomes.add(future);
                    metadataTimeout = failedWithTimeout(future);
                    if (sequential && metadataTimeout == null) {
                        awaitQuietly(future);
                    }
                } catch (RuntimeException e) {
                    // send() throws (rather than failing the future) for some client-side errors.
                    outcomes.add(e);
                }
            }
            producer.flush();
            for (int i = 0; i < outcomes.size(); i++) {
                Map<String, Object> line;
                if (outcomes.get(i) instanceof Future<?> future) {
                    try {
                        RecordMetadata md = (RecordMetadata) future.get(
                                timeout.toMillis(), TimeUnit.MILLISECONDS);
                        line = line("produced");
                        line.put("partition", md.partition());
                        line.put("offset", md.hasOffset() ? md.offset() : -1L);
                        line.put("timestamp", md.hasTimestamp() ? md.timestamp() : -1L);
                        produced++;
                    } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
                        line = error(e);
                    }
                } else {
                    line = error((Throwable) outcomes.get(i));
                }
                line.put("index", i);
                emit(line);
            }
            emitMetrics(producer.metrics());
        }
        Map<String, Object> summary = line("summary");
        summary.put("produced", produced);
        summary.put("failed", records.size() - produced);
        emit(summary);
    }

    /** Wait for {@code future}; its outcome, failure included, is reported later. */
    private void awaitQuietly(Future<RecordMetadata> future) throws InterruptedException {
        try {
            future.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
            // reported with the other outcomes
        }
    }

    /** A {@code metric} line for each metric named by a {@code --metric} option. */
    private void emitMetrics(Map<MetricName, ? extends Metric> metrics) throws IOException {
        List<String> names = all("metric");
        if (names.isEmpty()) {
            return;
        }
        List<Map<String, Object>> lines = new ArrayList<>();
        for (Map.Entry<MetricName, ? extends Metric> entry : metrics.entrySet()) {
            MetricName name = entry.getKey();
            if (!names.contains(name.name())) {
                continue;
            }
            Object value = entry.getValue().metricValue();
            if (value instanceof Double d && (d.isNaN() || d.isInfinite())) {
                value = null;
            }
            Map<String, Object> line = line("metric");
            line.put("group", name.group());
            line.put("name", name.name());
            line.put("tags", new TreeMap<>(name.tags()));
            line.put("value", value);
            lines.add(line);
        }
        lines.sort(java.util.Comparator.comparing(Object::toString));
        for (Map<String, Object> line : lines) {
            emit(line);
        }
    }

    /** The cause if {@code future} already failed with a client-side timeout, else null. */
    private static Throwable failedWithTimeout(Future<RecordMetadata> future) {
        if (!future.isDone()) {
            return null;
        }
        try {
            future.get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof org.apache.kafka.common.errors.TimeoutException) {
                return e.getCause();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return null;
    }

    // -- consume ------------------------------------------------------------------------------

    private Properties consumerProperties() {
        Properties props = clientProperties();
        props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG,
                ByteArrayDeserializer.class.getName());
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        props.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, "false");
        // Default "none": a seek out of range is reported, not silently reset.
        String reset = option("auto-offset-reset");
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, reset == null ? "none" : reset);
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG,
                isolationLevel().toString().toLowerCase(Locale.ROOT));
        String maxPartition = option("max-partition-fetch-bytes");
        if (maxPartition != null) {
            props.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, maxPartition);
        }
        String fetchMax = option("fetch-max-bytes");
        if (fetchMax != null) {
            props.put(ConsumerConfig.FETCH_MAX_BYTES_CONFIG, fetchMax);
        }
        props.putAll(configs());
        return props;
    }

    private Map<String, Object> recordLine(ConsumerRecord<byte[], byte[]> record) {
        Map<String, Object> line = line("record");
        line.put("topic", record.topic());
        line.put("partition", record.partition());
        line.put("offset", record.offset());
        line.put("timestamp", record.timestamp());
        line.put("timestampType", record.timestampType().toString());
        line.put("key", b64(record.key()));
        line.put("value", b64(record.value()));
        List<Map<String, Object>> headers = new ArrayList<>();
        for (Header header : record.headers()) {
            Map<String, Object> h = new LinkedHashMap<>();
            h.put("key", header.key());
            h.put("value", b64(header.value()));
            headers.add(h);
        }
        line.put("headers", headers);
        line.put("leaderEpoch", record.leaderEpoch().orElse(null));
        return line;
    }

    private void consume() throws Exception {
        String topic = required("topic");
        String offset = option("offset");
        long count = longOption("count", -1);
        long deadline = System.nanoTime() + timeout.toNanos();
        long consumed = 0;
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(consumerProperties())) {
            List<TopicPartition> tps = new ArrayList<>();
            List<Integer> partitions = partitions();
            if (partitions.isEmpty()) {
                List<PartitionInfo> infos = consumer.partitionsFor(topic, timeout);
                if (infos == null || infos.isEmpty()) {
                    Map<String, Object> line = line("error");
                    line.put("error", "UNKNOWN_TOPIC_OR_PARTITION");
                    line.put("exception", null);
                    line.put("message", "no partitions for topic " + topic);
                    line.put("topic", topic);
                    failed = true;
                    emit(line);
                    return;
                }
                for (PartitionInfo info : infos) {
                    partitions.add(info.partition());
                }
            }
            partitions.sort(null);
            for (int p : partitions) {
                tps.add(new TopicPartition(topic, p));
            }
            consumer.assign(tps);
            if (offset == null || offset.equals("earliest")) {
                consumer.seekToBeginning(tps);
            } else if (offset.equals("latest")) {
                consumer.seekToEnd(tps);
            } else {
                long at = longOption("offset", 0);
                for (TopicPartition tp : tps) {
                    consumer.seek(tp, at);
                }
            }
            // Without --count: read up to the end offsets as they are now.
            Map<TopicPartition, Long> ends = count < 0 ? consumer.endOffsets(tps, timeout) : null;
            try {
                while (!done(consumer, ends, count, consumed)) {
                    long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
                    if (left <= 0) {
                        Map<String, Object> line = line("error");
                        line.put("error", "TIMEOUT");
                        line.put("exception", null);
                        line.put("message", "consumed " + consumed + " record(s) before the timeout");
                        failed = true;
                        emit(line);
                        break;
                    }
                    for (ConsumerRecord<byte[], byte[]> record
                            : consumer.poll(Duration.ofMillis(Math.min(left, 500)))) {
                        if (count >= 0 && consumed >= count) {
                            break;
                        }
                        emit(recordLine(record));
                        consumed++;
                    }
                }
            } catch (RuntimeException e) {
                Map<String, Object> line = error(e);
                if (e instanceof InvalidOffsetException invalid && !invalid.partitions().isEmpty()) {
                    TopicPartition tp = invalid.partitions().iterator().next();
                    line.put("topic", tp.topic());
                    line.put("partition", tp.partition());
                }
                emit(line);
            }
            emitMetrics(consumer.metrics());
        }
        Map<String, Object> summary = line("summary");
        summary.put("consumed", consumed);
        emit(summary);
    }

    private static boolean done(KafkaConsumer<byte[], byte[]> consumer,
            Map<TopicPartition, Long> ends, long count, long consumed) {
        if (ends == null) {
            return consumed >= count;
        }
        for (Map.Entry<TopicPartition, Long> end : ends.entrySet()) {
            if (consumer.position(end.getKey()) < end.getValue()) {
                return false;
            }
        }
        return true;
    }

    // -- group-consume ------------------------------------------------------------------------

    /**
     * A consumer group member: subscribes to --topic in --group (eager range assignment with the
     * classic protocol), commits every record synchronously and prints {@code assigned},
     * {@code revoked}, {@code record} and {@code committed} lines; on SIGTERM it closes (leaving
     * the group) and prints {@code closed}. SIGKILL is a member dying without leaving.
     */
    private void groupConsume() throws Exception {
        String topic = required("topic");
        Properties props = clientProperties();
        props.put(ConsumerConfig.GROUP_ID_CONFIG, required("group"));
        props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG,
                ByteArrayDeserializer.class.getName());
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        String protocol = option("group-protocol") == null ? "classic" : option("group-protocol");
        props.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, protocol);
        if (protocol.equals("classic")) {
            props.put(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG,
                    org.apache.kafka.clients.consumer.RangeAssignor.class.getName());
            props.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, option("session-ms") == null
                    ? "10000" : option("session-ms"));
            props.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, option("heartbeat-ms") == null
                    ? "500" : option("heartbeat-ms"));
        }
        if (option("instance-id") != null) {
            props.put(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, option("instance-id"));
        }
        props.putAll(configs());
        CountDownLatch closed = new CountDownLatch(1);
        KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(props);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            consumer.wakeup();
            try {
                closed.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }));
        try {
            consumer.subscribe(List.of(topic), new ConsumerRebalanceListener() {
                @Override
                public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
                    emitPartitions("revoked", partitions);
                }

                @Override
                public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
                    emitPartitions("assigned", consumer.assignment());
                }
            });
            while (true) {
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                    Map<String, Object> line = line("record");
                    line.put("partition", record.partition());
                    line.put("offset", record.offset());
                    emit(line);
                    TopicPartition tp = new TopicPartition(record.topic(), record.partition());
                    consumer.commitSync(Map.of(tp, new OffsetAndMetadata(record.offset() + 1)));
                    Map<String, Object> done = line("committed");
                    done.put("partition", record.partition());
                    done.put("offset", record.offset() + 1);
                    emit(done);
                }
                out.flush();
            }
        } catch (WakeupException e) {
            // SIGTERM: leave the group below
        } finally {
            consumer.close();
            emit(line("closed"));
            out.flush();
            closed.countDown();
        }
    }

    private void emitPartitions(String type, Collection<TopicPartition> partitions) {
        List<Integer> indexes = new ArrayList<>();
        for (TopicPartition tp : partitions) {
            indexes.add(tp.partition());
        }
        indexes.sort(null);
        Map<String, Object> line = line(type);
        line.put("partitions", indexes);
        try {
            emit(line);
            out.flush();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
