package org.emovit.model;

/**
 * JavaCPP caps native memory at a multiple of -Xmx by default and, near the cap, calls the GC on every
 * allocation; a 7B model lives almost entirely in native memory, so the cap would stop it and the GC calls
 * slow every decoding step. Memory here is freed deterministically (scopes and close), not by the GC, so the
 * cap is lifted — unless the user set it. JavaCPP reads the settings once, when its first pointer class loads:
 * every entry point (the command line, the server, a Spark executor opening a model) calls {@link #configure}
 * before touching libtorch.
 */
public final class NativeMemory {
    private NativeMemory() {}

    public static void configure() {
        for (String key : new String[] {"org.bytedeco.javacpp.maxPhysicalBytes", "org.bytedeco.javacpp.maxBytes"}) {
            if (System.getProperty(key) == null) {
                System.setProperty(key, "0");
            }
        }
    }

    /**
     * Hands the C heap's free pages back to the system (glibc's malloc_trim). The launcher's GLIBC_TUNABLES keep
     * freed memory for reuse, which a model's steps want; a load that makes temporaries (a dense weight quantised as
     * it is taken, a benchmark's probes) would otherwise leave their pages resident: about 1 GB after building the
     * int8 7B bench model.
     */
    public static void trim() {
        org.bytedeco.javacpp.Pointer.trimMemory();
    }
}
