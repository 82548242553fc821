package org.emovit.spark;

import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.spark.sql.SparkSession;
import org.emovit.model.NativeEnvironment;
import picocli.CommandLine.Option;

/** How to reach Spark: a master URL for local runs, nothing under spark-submit (which sets spark.master). */
public final class SessionOptions {

    @Option(names = "--master", paramLabel = "URL",
            description = "Spark master, e.g. local[*] (default: what spark-submit set, else local[*]).")
    String master;

    @Option(names = "--conf", paramLabel = "KEY=VALUE", description = "Extra Spark configuration (repeatable).")
    Map<String, String> conf = new LinkedHashMap<>();

    /** A session and whether this job started it (only then does the job stop it). */
    public record Session(SparkSession spark, boolean owned) implements AutoCloseable {
        @Override
        public void close() {
            if (owned) {
                spark.stop();
            }
        }
    }

    /** The session for this job; one that is already running (a test's, a notebook's) is used and left running. */
    public Session open(String appName) {
        var active = SparkSession.getActiveSession();
        if (active.isDefined()) {
            return new Session(active.get(), false);
        }
        SparkSession.Builder b = SparkSession.builder().appName(appName);
        if (master != null) {
            b.master(master);
        } else if (System.getProperty("spark.master") == null) {
            b.master("local[*]");
        }
        conf.forEach(b::config);
        // Executors are JVMs of their own: they get the driver's native settings (see NativeEnvironment) unless set.
        NativeEnvironment.forChildProcess(System::getenv).forEach((name, value) -> {
            String key = "spark.executorEnv." + name;
            if (!conf.containsKey(key) && System.getProperty(key) == null) {
                b.config(key, value);
            }
        });
        return new Session(b.getOrCreate(), true);
    }
}
