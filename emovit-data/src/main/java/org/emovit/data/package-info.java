/**
 * EmoVIT's instruction data, built from EmoSet as the seed's scripts build it ({@code caption.py},
 * {@code cap-anno.py}, {@code gpt4_reasoning.py}, {@code gpt4_conversation.py}, {@code all.py}), but resumable,
 * concurrent and with its costs on record.
 *
 * <ul>
 *   <li>{@link org.emovit.data.EmoSet}: the EmoSet layout (split lists, annotations with unknown fields kept,
 *       malformed ones reported with their path).</li>
 *   <li>{@link org.emovit.data.CaptionStage} with any {@link org.emovit.data.Captioner}:
 *       {@code caption/<emotion>/<name>.txt} + {@code captions.jsonl}.</li>
 *   <li>{@link org.emovit.data.CapAnno} / {@link org.emovit.data.CapAnnoStage}: the caption + attributes text,
 *       byte-exact with the seed ({@link org.emovit.data.PyText} reproduces Python's {@code str()}).</li>
 *   <li>{@link org.emovit.data.Attributes} / {@link org.emovit.data.AnnotateStage}: brightness and colorfulness
 *       from pixels, for one's own images.</li>
 *   <li>{@code llm.GenerateStage}: LLM-written reasoning and conversation replies over any
 *       OpenAI-compatible endpoint, with retries, budget, cost log, response cache and crash-safe output. The
 *       stage decides what each image needs; {@code RequestPolicy} owns attempts, back-off, {@code Retry-After}
 *       and the budget, {@code RunFiles} the lock, resume and the JSON Lines files ({@code RunRecords}),
 *       {@code WorkerPool} the threads. A failure every request would repeat (refused credentials, an
 *       unreachable endpoint, a reply that is not JSON) stops the run with one line naming the URL.</li>
 *   <li>{@link org.emovit.data.assemble.Assembler}: {@code all.json} as {@code all.py} writes it, plus
 *       {@code all.jsonl} and a summary.</li>
 *   <li>{@code pipeline.DataPipeline}: a method per stage and one for the whole chain; each stage's
 *       report has a one-line {@code summary()}.</li>
 *   <li>{@link org.emovit.data.DataFiles}: the stages' writes, with failures that name the folder that refused
 *       them.</li>
 * </ul>
 *
 * <p>Work-folder layout (all stages skip what is already there):
 * <pre>
 * caption/&lt;emotion&gt;/&lt;name&gt;.txt      captions.jsonl      caption-errors.jsonl
 * cap-ano/&lt;emotion&gt;/&lt;name&gt;.txt
 * reasoning/&lt;emotion&gt;/&lt;name&gt;.txt    reasoning.jsonl     reasoning-errors.jsonl     reasoning-cost.jsonl
 * conversation/&lt;emotion&gt;/&lt;name&gt;.txt conversation.jsonl  conversation-errors.jsonl  conversation-cost.jsonl
 * llm-cache/&lt;xx&gt;/&lt;sha256&gt;.json
 * all.json  all.jsonl  summary.json
 * </pre>
 */
package org.emovit.data;
