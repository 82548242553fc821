package org.emovit.serve;

/** Reads numbers back out of Prometheus text (what load tools and tests need from /metrics). */
public final class PrometheusText {
    private PrometheusText() {}

    /** The sum of the samples whose line starts with this name (and labels prefix); 0 when there are none. */
    public static double sum(String scrape, String prefix) {
        double sum = 0;
        for (String line : scrape.split("\n")) {
            if (line.startsWith(prefix) && !line.startsWith("#")) {
                sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        return sum;
    }
}
