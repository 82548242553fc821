package org.emovit.model;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class NativeEnvironmentTest {

    @Test
    void theLauncherExportsExactlyTheDefaults() throws Exception {
        // The bash launcher cannot read the Java constant: this keeps the two copies equal.
        String script = Files.readString(Path.of("..", "emovit"));
        Matcher m = Pattern.compile("(?m)^export (\\w+)=\"\\$\\{\\1-([^}]*)}\"$").matcher(script);
        Map<String, String> exported = new LinkedHashMap<>();
        while (m.find()) {
            exported.put(m.group(1), m.group(2));
        }
        assertThat(exported).isEqualTo(NativeEnvironment.DEFAULTS);
    }

    @Test
    void aChildProcessGetsTheUsersValuesAndTheDefaultsForTheRest() {
        Map<String, String> env = Map.of("OMP_WAIT_POLICY", "ACTIVE", "GLIBC_TUNABLES", "");
        assertThat(NativeEnvironment.forChildProcess(env::get))
                .containsEntry("OMP_WAIT_POLICY", "ACTIVE")
                .containsEntry("GLIBC_TUNABLES", "");   // empty: the user turned it off
        assertThat(NativeEnvironment.forChildProcess(name -> null)).isEqualTo(NativeEnvironment.DEFAULTS);
        assertThat(NativeEnvironment.describe(env::get))
                .contains("OMP_WAIT_POLICY=ACTIVE").contains("GLIBC_TUNABLES=(unset");
    }
}
