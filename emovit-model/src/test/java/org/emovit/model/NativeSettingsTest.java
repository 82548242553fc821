package org.emovit.model;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** Native settings are refused in one line naming the variable before libtorch could crash on them or print frames. */
class NativeSettingsTest {

    private static String problem(String name, String value) {
        return NativeSettings.problem(Map.of(name, value)::get);
    }

    @Test
    void threadCountsFrom1To1024Only() {
        for (String name : NativeSettings.THREAD_COUNTS) {
            for (String bad : new String[] {"100000", "1025", "0", "-3", "abc", "", " ", "4,2", "2.5", "99999999999"}) {
                assertThat(problem(name, bad)).as("%s=%s", name, bad)
                        .startsWith(name + "='" + bad + "' is not a thread count").contains("1 to 1024").doesNotContain("\n");
            }
            for (String good : new String[] {"1", "2", " 3", "+4", "1024"}) {
                assertThat(problem(name, good)).as("%s=%s", name, good).isNull();
            }
        }
    }

    @Test
    void openMpPoliciesAndTheInt8KernelAreChecked() {
        assertThat(problem("OMP_WAIT_POLICY", "foo")).startsWith("OMP_WAIT_POLICY='foo'");
        assertThat(problem("GOMP_SPINCOUNT", "abc")).startsWith("GOMP_SPINCOUNT='abc'");
        assertThat(problem("EMOVIT_INT8_KERNEL", "foo")).contains("EMOVIT_INT8_KERNEL").contains("'foo'");
        for (String[] good : new String[][] {{"OMP_WAIT_POLICY", "passive"}, {"OMP_WAIT_POLICY", "ACTIVE"}, {"OMP_WAIT_POLICY", ""},
                {"GOMP_SPINCOUNT", "10000"}, {"GOMP_SPINCOUNT", "10k"}, {"GOMP_SPINCOUNT", "INFINITE"}, {"GOMP_SPINCOUNT", ""},
                {"EMOVIT_INT8_KERNEL", "int8pack"}, {"EMOVIT_INT8_KERNEL", "FBGEMM"}}) {
            assertThat(problem(good[0], good[1])).as("%s=%s", good[0], good[1]).isNull();
        }
        assertThat(NativeSettings.problem(NativeEnvironment.DEFAULTS::get)).as("the launcher's defaults").isNull();
        assertThat(NativeSettings.problem(name -> null)).isNull();
    }
}
