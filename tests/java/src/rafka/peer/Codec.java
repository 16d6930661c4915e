package rafka.peer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.protocol.ByteBufferAccessor;
import org.apache.kafka.common.protocol.Message;
import org.apache.kafka.common.protocol.ObjectSerializationCache;
import org.apache.kafka.common.protocol.Readable;
import org.apache.kafka.common.record.BaseRecords;
import org.apache.kafka.common.record.CompressionType;
import org.apache.kafka.common.record.ControlRecordType;
import org.apache.kafka.common.record.EndTransactionMarker;
import org.apache.kafka.common.record.MemoryRecords;
import org.apache.kafka.common.record.MemoryRecordsBuilder;
import org.apache.kafka.common.record.MutableRecordBatch;
import org.apache.kafka.common.record.Record;
import org.apache.kafka.common.record.RecordBatch;
import org.apache.kafka.common.record.TimestampType;
import org.apache.kafka.common.utils.Utils;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.PrintStream;
import java.lang.reflect.Constructor;
import java.lang.reflect.Field;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalLong;
import java.util.regex.Pattern;

/**
 * rafka's byte-level reference: Apache Kafka's own serializers behind a line protocol.
 *
 * <p>Reads one JSON object per line on stdin and answers with one JSON object per line on stdout
 * (flushed after each), so a test session starts one JVM and sends it many requests. Every reply
 * carries {@code "ok"}; a failed request answers {@code {"ok":false,"error":"<class>: <message>"}}
 * and the program keeps serving. A request's optional {@code "id"} is echoed in its reply.
 *
 * <p>Operations (see tests/peers/java.py for the Python side):
 * <ul>
 *   <li>{@code encode_message} / {@code decode_message}: a protocol message (request, response,
 *       header or data type) to and from bytes at one version, through kafka-clients' generated
 *       {@code *Data} classes and their {@code *JsonConverter}s.</li>
 *   <li>{@code message_versions}: the lowest and highest version kafka-clients supports.</li>
 *   <li>{@code build_batch} / {@code build_end_txn_marker}: record batches written by
 *       {@link MemoryRecordsBuilder}.</li>
 *   <li>{@code read_batches}: record batches as kafka-clients reads them.</li>
 *   <li>{@code murmur2}: the default partitioner's hash and partition for keys.</li>
 *   <li>{@code ping}, {@code quit}.</li>
 * </ul>
 */
public final class Codec {

    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
    private static final HexFormat HEX = HexFormat.of();

    /** Packages holding generated message classes; later entries only matter if on the classpath. */
    private static final String[] MESSAGE_PACKAGES = {
        "org.apache.kafka.common.message",
        "org.apache.kafka.common.metadata",
        "org.apache.kafka.coordinator.group.generated",
        "org.apache.kafka.coordinator.transaction.generated",
        "org.apache.kafka.coordinator.share.generated",
    };

    private static final Pattern MESSAGE_NAME = Pattern.compile("[A-Za-z][A-Za-z0-9_.]*");

    /** A generated message class and the static methods of its JSON converter. */
    private record MessageType(Class<? extends Message> dataClass, Method read, Method write,
                               boolean writeTakesSerializeRecords, Constructor<? extends Message> reader) {
    }

    private static final Map<String, MessageType> TYPES = new HashMap<>();

    private Codec() {
    }

    public static void main(String[] args) throws IOException {
        // The protocol owns the real stdout; anything a library prints goes to stderr instead.
        BufferedWriter out = new BufferedWriter(new OutputStreamWriter(
                new FileOutputStream(FileDescriptor.out), StandardCharsets.UTF_8));
        System.setOut(new PrintStream(new FileOutputStream(FileDescriptor.err), true, StandardCharsets.UTF_8));
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));

        String line;
        while ((line = in.readLine()) != null) {
            if (line.isBlank()) {
                continue;
            }
            ObjectNode reply;
            JsonNode id = null;
            boolean quit = false;
            try {
                JsonNode request = MAPPER.readTree(line);
                if (request == null || !request.isObject()) {
                    throw new IllegalArgumentException("a request must be a JSON object");
                }
                id = request.get("id");
                String op = requiredText(request, "op");
                quit = op.equals("quit");
                reply = quit ? NODES.objectNode() : dispatch(op, request);
                reply.put("ok", true);
            } catch (Throwable e) {
                reply = NODES.objectNode();
                reply.put("ok", false);
                reply.put("error", describe(e));
            }
            if (id != null) {
                reply.set("id", id);
            }
            out.write(MAPPER.writeValueAsString(reply));
            out.write('\n');
            out.flush();
            if (quit) {
                break;
            }
        }
    }

    private static ObjectNode dispatch(String op, JsonNode request) throws Exception {
        switch (op) {
            case "ping":
                return NODES.objectNode();
            case "encode_message":
                return encodeMessage(request);
            case "decode_message":
                return decodeMessage(request);
            case "message_versions":
                return messageVersions(request);
            case "build_batch":
                return buildBatch(request);
            case "build_end_txn_marker":
                return buildEndTxnMarker(request);
            case "read_batches":
                return readBatches(request);
            case "murmur2":
                return murmur2(request);
            default:
                throw new IllegalArgumentException("unknown op " + op);
        }
    }

    /** "<class>: <message>" of the exception that actually went wrong (reflection unwrapped). */
    private static String describe(Throwable e) {
        while (e instanceof InvocationTargetException && e.getCause() != null) {
            e = e.getCause();
        }
        return e.getClass().getName() + ": " + e.getMessage();
    }

    // ---------------------------------------------------------------------------------------
    // Protocol messages

    private static ObjectNode encodeMessage(JsonNode request) throws Exception {
        MessageType type = messageType(requiredText(request, "name"));
        short version = version(request);
        JsonNode json = request.get("json");
        if (json == null || !json.isObject()) {
            throw new IllegalArgumentException("json must be a JSON object");
        }
        // Check first: the converter's own complaint about an unknown version is less clear.
        checkVersion(type.dataClass().getConstructor().newInstance(), version);
        Message message = (Message) invoke(type.read(), json, version);

        // Size first (fills the cache with serialized strings etc.), then write exactly that much.
        ObjectSerializationCache cache = new ObjectSerializationCache();
        int size = message.size(cache, version);
        ByteBuffer buffer = ByteBuffer.allocate(size);
        message.write(new ByteBufferAccessor(buffer), cache, version);
        if (buffer.hasRemaining()) {
            throw new IllegalStateException("message wrote " + buffer.position() + " bytes, sized " + size);
        }
        ObjectNode reply = NODES.objectNode();
        reply.put("hex", HEX.formatHex(buffer.array()));
        return reply;
    }

    private static ObjectNode decodeMessage(JsonNode request) throws Exception {
        MessageType type = messageType(requiredText(request, "name"));
        short version = version(request);
        ByteBuffer buffer = ByteBuffer.wrap(HEX.parseHex(requiredText(request, "hex")));
        Message message = type.reader().newInstance(new ByteBufferAccessor(buffer), version);
        checkVersion(message, version);
        int trailing = buffer.remaining();
        if (trailing > 0 && !request.path("allowTrailing").asBoolean(false)) {
            throw new IllegalArgumentException(trailing + " bytes left after reading "
                    + type.dataClass().getSimpleName() + " v" + version);
        }
        JsonNode json = type.writeTakesSerializeRecords()
                ? (JsonNode) invoke(type.write(), message, version, true)
                : (JsonNode) invoke(type.write(), message, version);
        fillRecords(message, json);
        ObjectNode reply = NODES.objectNode();
        reply.set("json", json);
        reply.put("consumed", buffer.position());
        return reply;
    }

    private static ObjectNode messageVersions(JsonNode request) throws Exception {
        MessageType type = messageType(requiredText(request, "name"));
        Message message = type.dataClass().getConstructor().newInstance();
        ObjectNode reply = NODES.objectNode();
        reply.put("lowest", message.lowestSupportedVersion());
        reply.put("highest", message.highestSupportedVersion());
        return reply;
    }

    /**
     * The generated converters write a records field as empty bytes even when asked to
     * "serialize records" (Kafka's request log only wants its presence), so put the real bytes
     * back. Generated classes name their Java fields exactly like the JSON keys, so the message
     * tree and the JSON tree are walked side by side.
     */
    private static void fillRecords(Object message, JsonNode json) throws IllegalAccessException {
        if (!(json instanceof ObjectNode node)) {
            return;
        }
        for (Class<?> c = message.getClass(); c != null && c != Object.class; c = c.getSuperclass()) {
            for (Field field : c.getDeclaredFields()) {
                JsonNode child = node.get(field.getName());
                if (child == null || Modifier.isStatic(field.getModifiers())) {
                    continue;
                }
                field.setAccessible(true);
                Object value = field.get(message);
                if (value instanceof BaseRecords records) {
                    node.set(field.getName(), NODES.binaryNode(recordsBytes(records)));
                } else if (value instanceof Message) {
                    fillRecords(value, child);
                } else if (value instanceof Collection<?> items && child.isArray()) {
                    int i = 0;
                    for (Object item : items) {
                        if (item instanceof Message) {
                            fillRecords(item, child.get(i));
                        }
                        i++;
                    }
                }
            }
        }
    }

    private static byte[] recordsBytes(BaseRecords records) {
        if (!(records instanceof MemoryRecords memory)) {
            throw new IllegalStateException("cannot copy " + records.getClass().getName());
        }
        ByteBuffer buffer = memory.buffer();
        byte[] bytes = new byte[buffer.remaining()];
        buffer.get(bytes);
        return bytes;
    }

    private static void checkVersion(Message message, short version) {
        if (version < message.lowestSupportedVersion() || version > message.highestSupportedVersion()) {
            throw new IllegalArgumentException(message.getClass().getSimpleName() + " supports versions "
                    + message.lowestSupportedVersion() + " to " + message.highestSupportedVersion()
                    + ", not " + version);
        }
    }

    /**
     * Finds the generated classes for a spec name. Requests, responses and headers are generated
     * as {@code <name>Data} (e.g. MetadataRequestData); other specs keep their name (e.g.
     * ConsumerProtocolSubscription). A fully qualified class name is accepted too.
     */
    private static synchronized MessageType messageType(String name) throws Exception {
        MessageType cached = TYPES.get(name);
        if (cached != null) {
            return cached;
        }
        if (!MESSAGE_NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("not a message name: " + name);
        }
        List<String> candidates = new ArrayList<>();
        if (name.contains(".")) {
            candidates.add(name + "JsonConverter");
            candidates.add(name + "DataJsonConverter");
        } else {
            for (String pkg : MESSAGE_PACKAGES) {
                candidates.add(pkg + "." + name + "DataJsonConverter");
                candidates.add(pkg + "." + name + "JsonConverter");
            }
        }
        for (String candidate : candidates) {
            Class<?> converter;
            try {
                converter = Class.forName(candidate);
            } catch (ClassNotFoundException e) {
                continue;
            }
            Method read = converter.getMethod("read", JsonNode.class, short.class);
            Class<? extends Message> dataClass = read.getReturnType().asSubclass(Message.class);
            Method write;
            boolean serializeRecords;
            try {
                // write(message, version, serializeRecords): true keeps a records field in the
                // JSON (instead of its size); fillRecords then puts the real bytes in it.
                write = converter.getMethod("write", dataClass, short.class, boolean.class);
                serializeRecords = true;
            } catch (NoSuchMethodException e) {
                write = converter.getMethod("write", dataClass, short.class);
                serializeRecords = false;
            }
            Constructor<? extends Message> reader = dataClass.getConstructor(Readable.class, short.class);
            MessageType type = new MessageType(dataClass, read, write, serializeRecords, reader);
            TYPES.put(name, type);
            return type;
        }
        throw new IllegalArgumentException("no generated message class for " + name);
    }

    private static Object invoke(Method method, Object... args) throws Exception {
        try {
            return method.invoke(null, args);
        } catch (InvocationTargetException e) {
            Throwable cause = e.getCause();
            if (cause instanceof Exception) {
                throw (Exception) cause;
            }
            throw e;
        }
    }

    // ---------------------------------------------------------------------------------------
    // Record batches

    private static ObjectNode buildBatch(JsonNode request) {
        byte magic = (byte) request.path("magic").asInt(RecordBatch.CURRENT_MAGIC_VALUE);
        Compression compression = compression(request);
        // Magic 0 has no timestamps at all; Kafka insists on NO_TIMESTAMP_TYPE there.
        String defaultType = magic == RecordBatch.MAGIC_VALUE_V0 ? "none" : "create";
        TimestampType timestampType = timestampType(textOr(request, "timestampType", defaultType));
        long baseOffset = longOr(request, "baseOffset", 0L);
        long logAppendTime = longOr(request, "logAppendTime", RecordBatch.NO_TIMESTAMP);
        long producerId = longOr(request, "producerId", RecordBatch.NO_PRODUCER_ID);
        short producerEpoch = (short) longOr(request, "producerEpoch", RecordBatch.NO_PRODUCER_EPOCH);
        int baseSequence = (int) longOr(request, "baseSequence", RecordBatch.NO_SEQUENCE);
        boolean transactional = request.path("transactional").asBoolean(false);
        int leaderEpoch = (int) longOr(request, "partitionLeaderEpoch", RecordBatch.NO_PARTITION_LEADER_EPOCH);

        // The builder's output stream grows as needed; the initial size is only a hint.
        MemoryRecordsBuilder builder = MemoryRecords.builder(ByteBuffer.allocate(1024), magic, compression,
                timestampType, baseOffset, logAppendTime, producerId, producerEpoch, baseSequence,
                transactional, leaderEpoch);
        for (JsonNode record : request.path("records")) {
            long timestamp = longOr(record, "timestamp", RecordBatch.NO_TIMESTAMP);
            byte[] key = bytesOrNull(record, "key");
            byte[] value = bytesOrNull(record, "value");
            List<Header> headers = new ArrayList<>();
            for (JsonNode header : record.path("headers")) {
                headers.add(new RecordHeader(requiredText(header, "key"), bytesOrNull(header, "value")));
            }
            Header[] headerArray = headers.toArray(new Header[0]);
            if (hasValue(record, "offset")) {
                // Explicit offsets allow gaps (as in a compacted log); they must still increase.
                builder.appendWithOffset(record.get("offset").asLong(), timestamp, key, value, headerArray);
            } else {
                builder.append(timestamp, key, value, headerArray);
            }
        }
        return hexReply(builder.build());
    }

    private static ObjectNode buildEndTxnMarker(JsonNode request) {
        ControlRecordType type = request.path("commit").asBoolean(true) ? ControlRecordType.COMMIT
                : ControlRecordType.ABORT;
        EndTransactionMarker marker = new EndTransactionMarker(type,
                (int) longOr(request, "coordinatorEpoch", 0));
        MemoryRecords records = MemoryRecords.withEndTransactionMarker(
                longOr(request, "baseOffset", 0L),
                longOr(request, "timestamp", 0L),
                (int) longOr(request, "partitionLeaderEpoch", RecordBatch.NO_PARTITION_LEADER_EPOCH),
                requiredLong(request, "producerId"),
                (short) requiredLong(request, "producerEpoch"),
                marker);
        return hexReply(records);
    }

    private static ObjectNode readBatches(JsonNode request) {
        byte[] bytes = HEX.parseHex(requiredText(request, "hex"));
        MemoryRecords records = MemoryRecords.readableRecords(ByteBuffer.wrap(bytes));
        ArrayNode batches = NODES.arrayNode();
        int consumed = 0;
        for (MutableRecordBatch batch : records.batches()) {
            consumed += batch.sizeInBytes();
            ObjectNode b = batches.addObject();
            b.put("magic", batch.magic());
            b.put("baseOffset", batch.baseOffset());
            b.put("lastOffset", batch.lastOffset());
            b.put("count", batch.countOrNull());
            b.put("sizeInBytes", batch.sizeInBytes());
            b.put("compression", batch.compressionType().name);
            b.put("timestampType", timestampTypeName(batch.timestampType()));
            b.put("producerId", batch.producerId());
            b.put("producerEpoch", batch.producerEpoch());
            b.put("baseSequence", batch.baseSequence());
            b.put("lastSequence", batch.lastSequence());
            b.put("transactional", batch.isTransactional());
            b.put("control", batch.isControlBatch());
            b.put("partitionLeaderEpoch", batch.partitionLeaderEpoch());
            b.put("maxTimestamp", batch.maxTimestamp());
            OptionalLong deleteHorizon = batch.deleteHorizonMs();
            if (deleteHorizon.isPresent()) {
                b.put("deleteHorizonMs", deleteHorizon.getAsLong());
            } else {
                b.putNull("deleteHorizonMs");
            }
            b.put("crc", batch.checksum());
            try {
                batch.ensureValid();
                b.put("crcValid", true);
            } catch (RuntimeException e) {
                b.put("crcValid", false);
                b.put("crcError", describe(e));
            }
            ArrayNode out = b.putArray("records");
            try {
                for (Record record : batch) {
                    out.add(recordJson(record, batch.isControlBatch()));
                }
            } catch (RuntimeException e) {
                // A corrupt batch may not decompress or parse; report it instead of failing all.
                b.put("recordsError", describe(e));
            }
        }
        ObjectNode reply = NODES.objectNode();
        reply.set("batches", batches);
        // Kafka's reader stops silently at a truncated final batch; say how much it skipped.
        reply.put("trailingBytes", bytes.length - consumed);
        return reply;
    }

    private static ObjectNode recordJson(Record record, boolean control) {
        ObjectNode r = NODES.objectNode();
        r.put("offset", record.offset());
        r.put("timestamp", record.timestamp());
        r.put("key", base64OrNull(record.key()));
        r.put("value", base64OrNull(record.value()));
        ArrayNode headers = r.putArray("headers");
        for (Header header : record.headers()) {
            ObjectNode h = headers.addObject();
            h.put("key", header.key());
            h.put("value", header.value() == null ? null : Base64.getEncoder().encodeToString(header.value()));
        }
        if (control && record.key() != null) {
            ControlRecordType type = ControlRecordType.parse(record.key());
            r.put("controlType", type.name());
            if (type == ControlRecordType.COMMIT || type == ControlRecordType.ABORT) {
                r.put("coordinatorEpoch", EndTransactionMarker.deserialize(record).coordinatorEpoch());
            }
        }
        return r;
    }

    private static Compression compression(JsonNode request) {
        String name = textOr(request, "compression", "none").toLowerCase(Locale.ROOT);
        CompressionType type = CompressionType.forName(name);
        Compression.Builder<? extends Compression> builder = Compression.of(type);
        JsonNode level = request.get("compressionLevel");
        if (level != null && !level.isNull()) {
            // Only gzip, lz4 and zstd have levels; their builders expose level(int).
            switch (type) {
                case GZIP -> builder = Compression.gzip().level(level.asInt());
                case LZ4 -> builder = Compression.lz4().level(level.asInt());
                case ZSTD -> builder = Compression.zstd().level(level.asInt());
                default -> throw new IllegalArgumentException(name + " has no compression level");
            }
        }
        return builder.build();
    }

    private static TimestampType timestampType(String name) {
        switch (name.toLowerCase(Locale.ROOT)) {
            case "create":
            case "createtime":
            case "create_time":
                return TimestampType.CREATE_TIME;
            case "log_append":
            case "logappendtime":
            case "log_append_time":
                return TimestampType.LOG_APPEND_TIME;
            case "none":
            case "no_timestamp_type":
                return TimestampType.NO_TIMESTAMP_TYPE;
            default:
                throw new IllegalArgumentException("unknown timestampType " + name);
        }
    }

    private static String timestampTypeName(TimestampType type) {
        switch (type) {
            case CREATE_TIME:
                return "create";
            case LOG_APPEND_TIME:
                return "log_append";
            default:
                return "none";
        }
    }

    private static ObjectNode hexReply(MemoryRecords records) {
        ObjectNode reply = NODES.objectNode();
        reply.put("hex", HEX.formatHex(recordsBytes(records)));
        return reply;
    }

    // ---------------------------------------------------------------------------------------
    // Partitioning

    private static ObjectNode murmur2(JsonNode request) {
        int numPartitions = (int) requiredLong(request, "numPartitions");
        if (numPartitions <= 0) {
            throw new IllegalArgumentException("numPartitions must be positive");
        }
        ArrayNode hashes = NODES.arrayNode();
        ArrayNode partitions = NODES.arrayNode();
        for (JsonNode key : request.path("keys")) {
            if (key.isNull()) {
                throw new IllegalArgumentException("murmur2 needs non-null keys");
            }
            int hash = Utils.murmur2(Base64.getDecoder().decode(key.asText()));
            hashes.add(hash);
            // What Kafka's built-in partitioner does with a keyed record.
            partitions.add(Utils.toPositive(hash) % numPartitions);
        }
        ObjectNode reply = NODES.objectNode();
        reply.set("partitions", partitions);
        reply.set("hashes", hashes);
        return reply;
    }

    // ---------------------------------------------------------------------------------------
    // JSON helpers

    private static boolean hasValue(JsonNode node, String field) {
        JsonNode value = node.get(field);
        return value != null && !value.isNull();
    }

    private static String requiredText(JsonNode node, String field) {
        JsonNode value = node.get(field);
        if (value == null || !value.isTextual()) {
            throw new IllegalArgumentException(field + " must be a string");
        }
        return value.asText();
    }

    private static String textOr(JsonNode node, String field, String fallback) {
        return hasValue(node, field) ? node.get(field).asText() : fallback;
    }

    private static long requiredLong(JsonNode node, String field) {
        JsonNode value = node.get(field);
        if (value == null || !value.isIntegralNumber()) {
            throw new IllegalArgumentException(field + " must be an integer");
        }
        return value.asLong();
    }

    private static long longOr(JsonNode node, String field, long fallback) {
        return hasValue(node, field) ? requiredLong(node, field) : fallback;
    }

    private static short version(JsonNode request) {
        long version = requiredLong(request, "version");
        if (version < Short.MIN_VALUE || version > Short.MAX_VALUE) {
            throw new IllegalArgumentException("version out of range: " + version);
        }
        return (short) version;
    }

    private static byte[] bytesOrNull(JsonNode node, String field) {
        return hasValue(node, field) ? Base64.getDecoder().decode(node.get(field).asText()) : null;
    }

    private static String base64OrNull(ByteBuffer buffer) {
        if (buffer == null) {
            return null;
        }
        byte[] bytes = new byte[buffer.remaining()];
        buffer.duplicate().get(bytes);
        return Base64.getEncoder().encodeToString(bytes);
    }
}
