package org.emovit.smoke;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/** Reads what the Spark jobs wrote (Parquet) with a local Spark in the test's JVM, the reader any user has. */
final class SparkResults {
    private static SparkSession spark;

    private SparkResults() {}

    static synchronized SparkSession session() {
        if (spark == null) {
            spark = SparkSession.builder().master("local[1]").appName("emovit smoke reader")
                    .config("spark.ui.enabled", "false").config("spark.driver.host", "127.0.0.1").getOrCreate();
            spark.sparkContext().setLogLevel("WARN");
        }
        return spark;
    }

    static List<Row> rows(Path parquet) {
        return session().read().parquet(parquet.toString()).collectAsList();
    }

    /** The {@code spark classify} output holds each image once, with the emotion and probabilities classify gave. */
    static void assertEqualToClassify(Path parquet, Map<String, JsonNode> classified) {
        List<Row> rows = rows(parquet);
        assertThat(rows.stream().map(r -> fileName(r.getAs("path")))).containsExactlyInAnyOrderElementsOf(classified.keySet());
        for (Row row : rows) {
            String name = fileName(row.getAs("path"));
            JsonNode want = classified.get(name);
            assertThat((Object) row.getAs("error")).as(name).isNull();
            assertThat((String) row.getAs("emotion")).as(name).isEqualTo(want.get("emotion").asText());
            for (String e : Inputs.EMOTIONS) {
                double p = ((Number) row.getAs("p_" + e)).doubleValue();
                assertThat(p).as(name + " " + e).isCloseTo(want.get("probabilities").get(e).asDouble(), within(1e-5));
            }
        }
    }

    static String fileName(String path) {
        return path.substring(path.lastIndexOf('/') + 1);
    }
}
