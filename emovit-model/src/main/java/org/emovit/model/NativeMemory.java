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
}
