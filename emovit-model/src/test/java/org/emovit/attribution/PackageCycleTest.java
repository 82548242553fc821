package org.emovit.attribution;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Issue 26, case 4: {@code org.emovit.api} and {@code org.emovit.attribution} imported each other (BatchClassifier
 * mapped with Attribution, Attribution runs EmoVit). The packages of this module, read from their sources' code
 * (imports and qualified names, comments left out), form no loop.
 */
class PackageCycleTest {
    private static final Pattern REFERENCE = Pattern.compile("\\borg\\.emovit\\.([a-z0-9]+)\\.[A-Z]");

    @Test
    void theModulesPackagesFormNoLoop() throws IOException {
        Map<String, Set<String>> graph = graph(Path.of("src/main/java/org/emovit"));
        assertThat(graph).containsKeys("api", "attribution", "batch", "model");
        assertThat(graph.get("attribution")).contains("api");
        assertThat(graph.get("api")).doesNotContain("attribution", "batch");
        System.out.println("package graph: " + graph);
        assertThat(loop(graph)).as("a package loop").isEmpty();
    }

    /** Each package under {@code root} and the packages of org.emovit its code names. */
    static Map<String, Set<String>> graph(Path root) throws IOException {
        Map<String, Set<String>> graph = new TreeMap<>();
        try (Stream<Path> files = Files.walk(root)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
                String pkg = root.relativize(f.getParent()).toString().replace('/', '.');
                Set<String> deps = graph.computeIfAbsent(pkg, k -> new TreeSet<>());
                for (String line : Files.readAllLines(f)) {
                    String code = line.strip();
                    if (code.startsWith("*") || code.startsWith("/*") || code.startsWith("//")) {
                        continue;
                    }
                    int comment = code.indexOf("//");
                    Matcher m = REFERENCE.matcher(comment >= 0 ? code.substring(0, comment) : code);
                    while (m.find()) {
                        if (!m.group(1).equals(pkg)) {
                            deps.add(m.group(1));
                        }
                    }
                }
            }
        }
        return graph;
    }

    /** A loop of packages (the first found, as a path back to its start), or empty. */
    static List<String> loop(Map<String, Set<String>> graph) {
        Set<String> done = new TreeSet<>();
        for (String start : graph.keySet()) {
            List<String> found = visit(start, graph, new ArrayDeque<>(), done);
            if (!found.isEmpty()) {
                return found;
            }
        }
        return List.of();
    }

    private static List<String> visit(String pkg, Map<String, Set<String>> graph, Deque<String> path, Set<String> done) {
        if (path.contains(pkg)) {
            List<String> loop = new ArrayList<>(path);
            loop.add(pkg);
            return loop.subList(loop.indexOf(pkg), loop.size());
        }
        if (!done.add(pkg)) {
            return List.of();
        }
        path.addLast(pkg);
        for (String next : graph.getOrDefault(pkg, Set.of())) {
            List<String> found = visit(next, graph, path, done);
            if (!found.isEmpty()) {
                return found;
            }
        }
        path.removeLast();
        return List.of();
    }
}
