// The default lexical intent model (data/intent/lexical.pgi), compiled into the binary so `pangu adapt
// classify` and the server need no file beside them. Regenerate it with scripts/train_intent.sh.
#ifndef PANGU_INTENT_MODEL_FILE
#error "PANGU_INTENT_MODEL_FILE must name data/intent/lexical.pgi"
#endif

__asm__(".section .rodata\n"
        ".balign 16\n"
        ".global pangu_builtin_intent_model_start\n"
        "pangu_builtin_intent_model_start:\n"
        ".incbin \"" PANGU_INTENT_MODEL_FILE "\"\n"
        ".global pangu_builtin_intent_model_end\n"
        "pangu_builtin_intent_model_end:\n"
        ".byte 0\n"
        ".previous\n");
