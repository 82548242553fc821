package org.emovit.spark;

import org.apache.spark.sql.SparkSession;

/**
 * The tests' one Spark session (a JVM holds one SparkContext): local[2,2] — two cores, and a failed task is tried
 * twice, so a test can see Spark retry. The jobs find it active and use it; it lives until the JVM ends.
 */
final class TestSpark {
    private static SparkSession spark;

    private TestSpark() {}

    static synchronized SparkSession session() {
        if (spark == null) {
            spark = SparkSession.builder().master("local[2,2]").appName("emovit-spark tests")
                    .config("spark.ui.enabled", "false")
                    .config("spark.sql.shuffle.partitions", "2")
                    .config("spark.default.parallelism", "2")
                    .config("spark.driver.host", "127.0.0.1")
                    .config("spark.sql.sources.parallelPartitionDiscovery.threshold", "1000")
                    .getOrCreate();
            spark.sparkContext().setLogLevel("WARN");
        }
        SparkSession.setActiveSession(spark);
        return spark;
    }
}
