package kvp.bench;

import io.confluent.parallelconsumer.ParallelConsumerOptions;
import io.confluent.parallelconsumer.ParallelConsumerOptions.CommitMode;
import io.confluent.parallelconsumer.ParallelConsumerOptions.ProcessingOrder;
import io.confluent.parallelconsumer.ParallelStreamProcessor;
import io.confluent.parallelconsumer.internal.DrainingCloseable.DrainingMode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.utils.AppInfoParser;

/**
 * The Confluent Parallel Consumer peer of kvp's benchmark: reads a topic from the beginning
 * with a fresh group, key-ordered, `maxConcurrency` records in flight, and does the same
 * work per record as bench/handlers/work.ts. It measures the way bench/lib/meter.ts does
 * (from the first handled record to the last, stopped by a time box or the whole topic) and
 * prints JSON lines on stdout: `started`, `progress` every 100 ms, then `result` or `error`.
 *
 * Args: bootstrap topic group scenario(io|cpu|noop) maxConcurrency count timeBoxMs cpuRounds cpuMicrosTarget
 * (cpuMicrosTarget > 0: as many sha256 rounds as take that long here, so a `cpu` record costs the
 * JVM the time it costs Node; 0: exactly cpuRounds rounds)
 */
public final class Main {
  /** How often the handled count is looked at: as often as the benchmark reads kvp's stats. */
  private static final long OBSERVE_EVERY_MS = 5;
  private static final long PROGRESS_EVERY_MS = 100;
  /** Gives up when nothing is handled for this long, like the other systems. */
  private static final long STALL_MS = 30_000;

  private static final byte[] EMPTY = new byte[0];
  private static final ThreadLocal<MessageDigest> SHA256 = ThreadLocal.withInitial(() -> {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  });

  private Main() {}

  public static void main(String[] args) {
    try {
      run(args);
    } catch (Throwable t) {
      emit("{\"event\":\"error\",\"message\":" + quote(String.valueOf(t)) + "}");
      Runtime.getRuntime().halt(1);
    }
  }

  private static void run(String[] args) throws Exception {
    if (args.length != 9) throw new IllegalArgumentException("expected 9 args: bootstrap topic group scenario maxConcurrency count timeBoxMs cpuRounds cpuMicrosTarget");
    String bootstrap = args[0];
    String topic = args[1];
    String group = args[2];
    String scenario = args[3];
    int maxConcurrency = Integer.parseInt(args[4]);
    long count = Long.parseLong(args[5]);
    long timeBoxMs = Long.parseLong(args[6]);
    double cpuMicrosTarget = Double.parseDouble(args[8]);
    // The JVM hashes far faster than Node's crypto calls: the same rounds would compare the
    // runtimes' sha256, not the consumers. Scale them to the same time per record.
    int cpuRounds = calibratedRounds(Integer.parseInt(args[7]), cpuMicrosTarget);
    if (!List.of("io", "cpu", "noop").contains(scenario)) throw new IllegalArgumentException("scenario: expected io, cpu or noop, got " + scenario);

    long createdAt = System.nanoTime();
    Properties props = new Properties();
    props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(ConsumerConfig.GROUP_ID_CONFIG, group);
    props.put(ConsumerConfig.CLIENT_ID_CONFIG, "bench-" + group);
    props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    // Parallel Consumer commits itself and refuses a consumer that auto-commits.
    props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    props.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, "6000");
    props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(props);

    ParallelConsumerOptions<byte[], byte[]> options = ParallelConsumerOptions.<byte[], byte[]>builder()
        .consumer(consumer)
        .ordering(ProcessingOrder.KEY)
        .maxConcurrency(maxConcurrency)
        .commitMode(CommitMode.PERIODIC_CONSUMER_ASYNCHRONOUS)
        .build();
    ParallelStreamProcessor<byte[], byte[]> processor = ParallelStreamProcessor.createEosStreamProcessor(options);
    emit(String.format(Locale.ROOT, "{\"event\":\"started\",\"java\":%s,\"kafkaClients\":%s,\"cpuMicrosPerMessage\":%.3f,\"cpuRounds\":%d}",
        quote(System.getProperty("java.version")), quote(AppInfoParser.getVersion()), cpuMicros(cpuRounds), cpuRounds));

    AtomicLong handled = new AtomicLong();
    processor.subscribe(List.of(topic));
    processor.poll(context -> {
      for (ConsumerRecord<byte[], byte[]> record : (Iterable<ConsumerRecord<byte[], byte[]>>) context.streamConsumerRecords()::iterator) {
        try {
          work(scenario, record.value(), cpuRounds);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        }
        handled.incrementAndGet();
      }
    });

    // The meter of bench/lib/meter.ts, on this process's clock.
    long firstAt = -1;
    long firstCount = 0;
    long lastAt = 0;
    long seen = 0;
    long progressAt = 0;
    boolean timeBoxed = false;
    String stalled = null;
    for (;;) {
      Thread.sleep(OBSERVE_EVERY_MS);
      long now = System.nanoTime();
      long total = handled.get();
      if (total > seen) {
        if (firstAt < 0) {
          firstAt = now;
          firstCount = total;
        }
        seen = total;
        lastAt = now;
      }
      if (now - progressAt >= PROGRESS_EVERY_MS * 1_000_000) {
        progressAt = now;
        emit("{\"event\":\"progress\",\"handled\":" + seen + "}");
      }
      if (seen >= count) break;
      if (firstAt >= 0 && now - firstAt >= timeBoxMs * 1_000_000) {
        timeBoxed = true;
        break;
      }
      long since = firstAt < 0 ? createdAt : lastAt;
      if (now - since > STALL_MS * 1_000_000) {
        stalled = "parallel-consumer: no message handled for " + (STALL_MS / 1000) + " s (handled " + seen + " of " + count + ")";
        break;
      }
    }
    if (stalled != null) {
      emit("{\"event\":\"error\",\"message\":" + quote(stalled) + "}");
    } else {
      double seconds = firstAt < 0 ? 0 : (lastAt - firstAt) / 1e9;
      double startupMs = firstAt < 0 ? 0 : (firstAt - createdAt) / 1e6;
      emit(String.format(Locale.ROOT,
          "{\"event\":\"result\",\"handled\":%d,\"firstCount\":%d,\"seconds\":%.6f,\"timeBoxed\":%b,\"startupMs\":%.3f,\"peakRssKiB\":%d}",
          seen, firstCount, seconds, timeBoxed, startupMs, peakRssKiB()));
    }
    // What is left (a close that commits, the fetch threads) is no part of the measurement.
    Thread closer = new Thread(() -> processor.close(Duration.ofSeconds(3), DrainingMode.DONT_DRAIN));
    closer.setDaemon(true);
    closer.start();
    closer.join(4_000);
    Runtime.getRuntime().halt(0);
  }

  /** The work of bench/handlers/work.ts: io a 1 ms wait, cpu `rounds` chained sha256 digests of the value, noop nothing. */
  static int work(String scenario, byte[] value, int rounds) throws InterruptedException {
    switch (scenario) {
      case "io":
        Thread.sleep(1);
        return 0;
      case "cpu": {
        MessageDigest sha256 = SHA256.get();
        byte[] digest = value == null ? EMPTY : value;
        for (int round = 0; round < rounds; round++) digest = sha256.digest(digest);
        return digest.length == 0 ? 0 : digest[0] & 0xff;
      }
      default:
        return 0;
    }
  }

  /** `rounds`, or as many as take `targetMicros` per record here when that is above 0. */
  static int calibratedRounds(int rounds, double targetMicros) throws InterruptedException {
    if (targetMicros <= 0) return rounds;
    double perRound = cpuMicros(rounds) / rounds;
    return Math.max(1, (int) Math.round(targetMicros / perRound));
  }

  /** Microseconds the `cpu` work takes per message here, as bench/run.ts measures it for Node: best of 5 rounds of 200. */
  static double cpuMicros(int rounds) throws InterruptedException {
    byte[] value = "{\"id\":12345,\"key\":\"key-345\",\"pad\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}".getBytes(java.nio.charset.StandardCharsets.UTF_8);
    double best = Double.MAX_VALUE;
    for (int round = 0; round < 5; round++) {
      long start = System.nanoTime();
      for (int i = 0; i < 200; i++) work("cpu", value, rounds);
      best = Math.min(best, (System.nanoTime() - start) / 1e3 / 200);
    }
    return best;
  }

  /** The process's peak resident set (VmHWM), in KiB; -1 where /proc does not tell. */
  static long peakRssKiB() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith("VmHWM:")) return Long.parseLong(line.replaceAll("[^0-9]", ""));
      }
    } catch (IOException | NumberFormatException e) {
      // not Linux
    }
    return -1;
  }

  private static synchronized void emit(String line) {
    System.out.println(line);
    System.out.flush();
  }

  private static String quote(String text) {
    StringBuilder out = new StringBuilder("\"");
    for (char c : text.toCharArray()) {
      if (c == '"' || c == '\\') out.append('\\').append(c);
      else if (c < 0x20) out.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
      else out.append(c);
    }
    return out.append('"').toString();
  }
}
