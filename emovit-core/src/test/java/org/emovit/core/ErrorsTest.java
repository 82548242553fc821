package org.emovit.core;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ErrorsTest {

    @Test
    void keepsTheFirstLineOfAMessageWithABacktrace() {
        RuntimeException e = new RuntimeException("shape mismatch: [2, 3] vs [3]\nException raised from at::native::mm\nframe #0: c10::Error");
        assertThat(Errors.firstLine(e)).isEqualTo("shape mismatch: [2, 3] vs [3]");
        assertThat(Errors.firstLine("one\r\ntwo")).isEqualTo("one");
    }

    @Test
    void anExceptionWithoutAMessageIsNamedByItsClass() {
        assertThat(Errors.firstLine(new IllegalStateException())).isEqualTo("java.lang.IllegalStateException");
        assertThat(Errors.firstLine(new RuntimeException(""))).isEmpty();
    }
}
