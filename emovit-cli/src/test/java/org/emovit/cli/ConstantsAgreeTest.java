package org.emovit.cli;

import static org.assertj.core.api.Assertions.assertThat;

import org.emovit.data.assemble.ClassificationInstruction;
import org.emovit.generate.Prompts;
import org.junit.jupiter.api.Test;

/** The classification instruction lives in the data module (training records) and the model module (inference). */
class ConstantsAgreeTest {

    @Test
    void dataAndInferenceUseTheSameInstructionByteForByte() {
        assertThat(ClassificationInstruction.TEXT).isEqualTo(Prompts.CLASSIFICATION_INSTRUCTION);
        assertThat(Prompts.CLASSIFICATION_INSTRUCTION)
                .startsWith("Please select the emotion closest to the image from the following options:amusement, anger,")
                .endsWith("Please answer in the following format:  Predict emotion:");
    }
}
