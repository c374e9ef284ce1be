#!/usr/bin/python3
"""Builds the labelled request corpus for intent recognition from ../shared/data only (docs/adapt.md).

    /usr/bin/python3 scripts/intent_corpus.py [--shared ../shared] [--out build/intent]

Writes OUT/train.jsonl, OUT/dev.jsonl, OUT/test.jsonl and OUT/counts.json. Each line is
{"text", "label", "lang", "source", "item"}. The split is by source item (a hash of source and item id), so
no item is in two splits, even when one item gives several requests (an article summarized and asked about).
Deterministic: the same ../shared gives the same files, byte for byte.

Labels: chat, translation, summarization, qa, rag, math, code, exam. Where a source has no Chinese, or one
wording only, its texts are wrapped in instructions drawn from the lists below, in English and Chinese.
"""
import argparse
import csv
import glob
import hashlib
import json
import os
import random
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import intent_compose  # noqa: E402

LABELS = ["chat", "translation", "summarization", "qa", "rag", "math", "code", "exam"]
PER_SOURCE_CAP = 1400  # items read per large source, so categories stay within a factor of about two

# Spec-Bench's MT-Bench part, by its own categories.
MT_BENCH = {"writing": "chat", "roleplay": "chat", "coding": "code", "math": "math", "reasoning": "qa",
            "extraction": "rag", "stem": "qa", "humanities": "qa"}
SPEC_BENCH = {"translation": "translation", "summarization": "summarization", "qa": "qa", "rag": "rag",
              "math_reasoning": "math"}

MATH_WRAP = [
    ("en", "{}"), ("en", "Solve this problem step by step: {}"), ("en", "Can you help me with this math problem? {}"),
    ("en", "Question: {}\nAnswer:"), ("en", "{} Show your work."), ("en", "Calculate the answer: {}"),
    ("zh", "请解答下面的数学题：{}"), ("zh", "帮我算一下：{}"), ("zh", "这道应用题怎么做？{}"),
    ("zh", "请一步一步地计算：{}"), ("zh", "数学问题：{}\n答案是多少？"),
]
CODE_WRAP = [
    ("en", "{}"), ("en", "Write a Python function for this task. {}"), ("en", "{}\nYour code should pass the tests."),
    ("en", "Implement the following in Python: {}"), ("en", "Can you write code that does this? {}"),
    ("zh", "用Python实现：{}"), ("zh", "请写一个函数完成下面的任务：{}"), ("zh", "帮我写代码：{}"),
    ("zh", "编程题：{}\n请给出Python代码。"), ("zh", "请用代码解决：{}"),
]
SUMMARY_WRAP = [
    ("en", "Summarize: {}"), ("en", "{}\n\nSummarize the above article in 1 sentence."),
    ("en", "Give me a short summary of this text:\n{}"), ("en", "TL;DR:\n{}"),
    ("en", "Article: {}\nWrite a headline-style summary."), ("en", "Please summarize the following news story.\n{}"),
    ("zh", "请总结以下文章：\n{}"), ("zh", "{}\n\n用一句话概括上文。"), ("zh", "请为下面这篇新闻写一个摘要：{}"),
    ("zh", "概括这段文字的主要内容：\n{}"), ("zh", "{}\n请简要总结。"),
]
RAG_WRAP = [
    ("en", "{passage}\n{question}"), ("en", "Context: {passage}\n\nQuestion: {question}\nAnswer:"),
    ("en", "Answer the question using only the document below.\nDocument: {passage}\nQuestion: {question}"),
    ("en", "Read the passage and answer.\n{passage}\nQ: {question}"),
    ("zh", "根据下面的材料回答问题。\n材料：{passage}\n问题：{question}"),
    ("zh", "{passage}\n请根据上文回答：{question}"), ("zh", "阅读以下文档：{passage}\n问题：{question}\n回答："),
]
RAG_QUESTIONS = [
    ("en", "What does the passage say about {}?"), ("en", "According to the text, who is {}?"),
    ("en", "Based on the document, what happened to {}?"), ("en", "Why is {} mentioned in the article?"),
    ("en", "What role does {} play here?"),
    ("zh", "文中提到的{}是什么？"), ("zh", "根据材料，{}发生了什么？"), ("zh", "文章中关于{}说了什么？"),
]
TRANSLATE_TO = [
    ("en", "Translate the following sentence into French: {}"), ("en", "Translate to German: {}"),
    ("en", "How do you say this in Spanish? \"{}\""), ("en", "Please translate into Chinese:\n{}"),
    ("en", "Translate English to Japanese: {}"), ("en", "Render this text in Italian: {}"),
    ("zh", "请将以下内容翻译成中文：{}"), ("zh", "把这句话翻译成法语：{}"), ("zh", "翻译成日文：{}"),
    ("zh", "英译中：{}"), ("zh", "帮我把下面的英文翻成中文：\n{}"),
]
TRANSLATE_FROM_ZH = [
    ("zh", "请把下面这句话翻译成英文：{}"), ("zh", "中译英：{}"), ("zh", "翻译成英语：{}"),
    ("en", "Translate this Chinese sentence into English: {}"), ("en", "What does this mean in English? {}"),
    ("en", "Translate Chinese to English: {}"),
]
EXAM_EN = [
    "{q}\nA. {a}\nB. {b}\nC. {c}\nD. {d}\nAnswer:",
    "Question: {q}\n(A) {a}\n(B) {b}\n(C) {c}\n(D) {d}\nChoose the correct option.",
    "The following is a multiple choice question.\n\n{q}\nA) {a}\nB) {b}\nC) {c}\nD) {d}",
    "{q}\nOptions:\nA: {a}\nB: {b}\nC: {c}\nD: {d}\nWhich one is correct?",
    "{q} (A) {a} (B) {b} (C) {c} (D) {d}",
    "{q} A. {a} B. {b} C. {c} D. {d}",
]
EXAM_ZH = [
    "{q}\nA. {a}\nB. {b}\nC. {c}\nD. {d}\n答案：",
    "以下是单项选择题，请选出正确答案。\n\n{q}\nA. {a}\nB. {b}\nC. {c}\nD. {d}",
    "题目：{q}\n选项：A、{a} B、{b} C、{c} D、{d}\n请作答。",
    "{q}\n(A){a}\n(B){b}\n(C){c}\n(D){d}\n正确选项是？",
]
QA_WRAP = [("en", "{}"), ("en", "Quick question: {}"), ("en", "Do you know {}"), ("zh", "{}"), ("zh", "请问，{}"),
           ("zh", "我想知道：{}")]

# Open conversation, writing, role play and advice: composed from parts in both languages, because the
# shared data holds only 20 such requests (Spec-Bench writing and roleplay).
CHAT_EN = [
    "Write a poem about {t}.", "Tell me a short story about {t}.", "Can you help me write a birthday message for my {p}?",
    "I'm feeling {e} today. Any advice?", "Let's chat about {t}.", "Pretend you are {r} and tell me about your day.",
    "What should I get my {p} for their birthday?", "Write a blog post about {t}.", "Give me some tips for dealing with {s}.",
    "Hi! How are you doing today?", "Compose a song about {t}.", "Act as {r}. How would you greet a new visitor?",
    "I need motivation to {g}. Can you encourage me?", "Draft an email to my {p} about {t}.",
    "Write a funny limerick about {t}.", "How can I become better at {g}?", "Can you recommend a good way to relax after {s}?",
    "Help me write a toast for my {p}'s wedding.", "Describe a perfect day at {pl}.", "Write a letter to my future self about {t}.",
    "Role-play as {r} giving a speech about {t}.", "I had a fight with my {p}. What should I do?",
    "Plan a weekend trip to {pl} for me.", "Write a motivational quote about {t}.",
]
CHAT_ZH = [
    "写一首关于{t}的诗。", "给我讲一个关于{t}的故事。", "帮我给我的{p}写一段生日祝福。", "我今天感觉很{e}，你有什么建议吗？",
    "我们聊聊{t}吧。", "假装你是{r}，跟我说说你的一天。", "我该送我的{p}什么生日礼物？", "写一篇关于{t}的博客文章。",
    "给我一些应对{s}的建议。", "你好！今天过得怎么样？", "写一首关于{t}的歌。", "扮演{r}，你会怎么欢迎一位新来的客人？",
    "我需要动力去{g}，你能鼓励我一下吗？", "帮我给{p}写一封关于{t}的邮件。", "写一段关于{t}的幽默小段子。",
    "我怎样才能更擅长{g}？", "{s}之后怎么放松比较好？", "帮我为我{p}的婚礼写一段祝酒词。", "描述一下在{pl}度过的完美一天。",
    "以{r}的身份，做一段关于{t}的演讲。", "我和我的{p}吵架了，我该怎么办？", "帮我规划一个去{pl}的周末旅行。",
    "写一句关于{t}的励志名言。", "陪我聊聊天吧，我有点无聊。",
]
CHAT_PARTS = {
    "en": {"t": ["spring", "the ocean", "friendship", "my cat", "autumn leaves", "city lights", "a rainy afternoon",
                 "coffee", "growing up", "the moon", "summer holidays", "old photographs", "hope", "a long journey"],
           "p": ["mom", "best friend", "boss", "sister", "grandfather", "colleague", "partner", "teacher"],
           "e": ["tired", "lonely", "anxious", "excited", "bored", "stressed", "happy"],
           "r": ["a pirate captain", "a medieval knight", "Sherlock Holmes", "a friendly robot", "a tour guide",
                 "a famous chef"],
           "s": ["a long work week", "stress at school", "a breakup", "moving to a new city", "jet lag"],
           "g": ["exercise every day", "learn the guitar", "study for my exams", "wake up early", "public speaking"],
           "pl": ["Paris", "the mountains", "a beach town", "Kyoto", "the countryside"]},
    "zh": {"t": ["春天", "大海", "友谊", "我的猫", "秋天的落叶", "城市的夜景", "下雨的午后", "咖啡", "成长", "月亮",
                 "暑假", "老照片", "希望", "远方", "故乡"],
           "p": ["妈妈", "好朋友", "老板", "姐姐", "爷爷", "同事", "男朋友", "老师"],
           "e": ["累", "孤独", "焦虑", "兴奋", "无聊", "有压力", "开心"],
           "r": ["海盗船长", "中世纪骑士", "福尔摩斯", "一个友善的机器人", "导游", "著名厨师"],
           "s": ["一周的加班", "学习压力", "失恋", "搬到新城市", "倒时差"],
           "g": ["每天锻炼", "学吉他", "准备考试", "早起", "当众演讲"],
           "pl": ["巴黎", "山里", "海边小镇", "京都", "乡下", "杭州"]},
}


# Factual questions without context: Spec-Bench has 80 (English), MMLU's plain questions add more; C-Eval's
# stems are fill-in-the-blank, so Chinese ones are composed from parts as chat requests are.
QA_EN = ["What is {c}?", "Who invented {i}?", "When did {ev} happen?", "How does {i} work?", "Where is {pl} located?",
         "Why is {c} important?", "What is the capital of {co}?", "Who wrote {b}?", "How many {u} are in a {w}?",
         "What language is spoken in {co}?", "Is {c} the same as {c2}?", "Which planet is known as {pn}?",
         "what year did {ev} start", "who was the first president of {co}", "How tall is {lm}?",
         "What causes {ph}?", "Explain {c} in simple terms.", "What's the difference between {c} and {c2}?"]
QA_ZH = ["什么是{c}？", "{i}是谁发明的？", "{ev}发生在哪一年？", "{i}是怎么工作的？", "{pl}在哪里？", "为什么{c}很重要？",
         "{co}的首都是哪里？", "《{b}》的作者是谁？", "一{w}有多少{u}？", "{co}说什么语言？", "{c}和{c2}有什么区别？",
         "哪颗行星被称为{pn}？", "{co}的第一任总统是谁", "{lm}有多高？", "{ph}是怎么形成的？", "请解释一下{c}。",
         "{ev}的起因是什么？", "世界上最大的{x}是什么？"]
QA_PARTS = {
    "en": {"c": ["photosynthesis", "inflation", "machine learning", "democracy", "quantum entanglement", "DNA",
                 "the greenhouse effect", "a black hole", "blockchain", "the immune system"],
           "c2": ["weather", "deflation", "statistics", "a republic", "superposition", "RNA"],
           "i": ["the telephone", "the printing press", "the light bulb", "the internet", "the steam engine",
                 "penicillin"],
           "ev": ["the French Revolution", "World War I", "the fall of the Berlin Wall", "the moon landing",
                  "the Industrial Revolution"],
           "pl": ["Machu Picchu", "the Sahara", "Mount Kilimanjaro", "the Great Barrier Reef", "Angkor Wat"],
           "co": ["Australia", "Canada", "Brazil", "Kenya", "Norway", "Peru", "Vietnam"],
           "b": ["Pride and Prejudice", "War and Peace", "One Hundred Years of Solitude", "Hamlet", "1984"],
           "u": ["seconds", "days", "grams", "centimeters"], "w": ["minute", "year", "kilogram", "meter"],
           "pn": ["the Red Planet", "the Morning Star"], "lm": ["Mount Everest", "the Eiffel Tower"],
           "ph": ["rainbows", "earthquakes", "tides", "thunder"]},
    "zh": {"c": ["光合作用", "通货膨胀", "机器学习", "民主", "量子纠缠", "DNA", "温室效应", "黑洞", "区块链", "免疫系统"],
           "c2": ["天气", "通货紧缩", "统计学", "共和制", "叠加态", "RNA"],
           "i": ["电话", "印刷术", "电灯", "互联网", "蒸汽机", "青霉素", "造纸术"],
           "ev": ["法国大革命", "第一次世界大战", "柏林墙倒塌", "登月", "工业革命", "辛亥革命"],
           "pl": ["马丘比丘", "撒哈拉沙漠", "乞力马扎罗山", "大堡礁", "吴哥窟", "敦煌"],
           "co": ["澳大利亚", "加拿大", "巴西", "肯尼亚", "挪威", "秘鲁", "越南"],
           "b": ["红楼梦", "战争与和平", "百年孤独", "哈姆雷特", "西游记"],
           "u": ["秒", "天", "克", "厘米"], "w": ["分钟", "年", "千克", "米"],
           "pn": ["红色星球", "启明星"], "lm": ["珠穆朗玛峰", "埃菲尔铁塔"], "ph": ["彩虹", "地震", "潮汐", "雷"],
           "x": ["沙漠", "海洋", "湖泊", "动物"]},
}


def split_of(source, item):
    """70% train, 10% dev, 20% test, by a hash of the source item (stable across runs and machines)."""
    h = int(hashlib.sha256(f"{source}:{item}".encode()).hexdigest()[:8], 16) % 10
    return "train" if h < 7 else ("dev" if h < 8 else "test")


def jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def csv_rows(pattern, header):
    rows = []
    for path in sorted(glob.glob(pattern)):
        with open(path, encoding="utf-8", newline="") as f:
            reader = csv.reader(f)
            if header:
                next(reader, None)
            for i, row in enumerate(reader):
                rows.append((os.path.basename(path), i, row))
    return rows


def first_sentence(text):
    text = re.sub(r"\s+", " ", text).strip()
    m = re.match(r"(.{30,240}?[.!?])\s", text + " ")
    return m.group(1) if m else text[:200]


def passage(article, rng, lo=600, hi=2000):
    article = re.sub(r"^###\s*Article:\s*", "", article.strip())
    article = re.split(r"\n\s*Summarize the above", article)[0].strip()
    return article[: rng.randint(lo, hi)].rsplit(" ", 1)[0]


def entity(text, rng):
    words = re.findall(r"\b[A-Z][a-z]{3,}(?: [A-Z][a-z]{2,})?\b", text[200:])
    return rng.choice(words) if words else "the main event"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared"))
    ap.add_argument("--out", default="build/intent")
    args = ap.parse_args()
    data = os.path.join(args.shared, "data")
    rng = random.Random(20261202)
    out = []

    def add(text, label, lang, source, item):
        out.append({"text": text, "label": label, "lang": lang, "source": source, "item": str(item)})

    def wrap(templates, text, label, source, item):
        lang, t = rng.choice(templates)
        add(t.format(text), label, lang, source, item)

    # Spec-Bench, by its categories (the first turn of each).
    for q in jsonl(os.path.join(data, "spec_bench/question.jsonl")):
        cat = q["category"]
        label = SPEC_BENCH.get(cat) or MT_BENCH.get(cat)
        add(q["turns"][0], label, "en", "spec_bench", q["question_id"])
    # GSM8K -> math.
    for split in ("train", "test"):
        rows = jsonl(os.path.join(data, f"gsm8k/{split}.jsonl"))
        rng.shuffle(rows)
        for i, r in enumerate(rows[: PER_SOURCE_CAP // 2]):
            wrap(MATH_WRAP, r["question"], "math", f"gsm8k-{split}", i)
    # MBPP -> code.
    for r in jsonl(os.path.join(data, "mbpp/mbpp.jsonl"))[:PER_SOURCE_CAP]:
        text = r["text"]
        if rng.random() < 0.3 and r.get("test_list"):
            text += "\n" + r["test_list"][0]
        wrap(CODE_WRAP, text, "code", "mbpp", r["task_id"])
    # MMLU (English) and C-Eval (Chinese) -> exam with options; their plain questions -> qa.
    mmlu = [(f, i, row) for f, i, row in csv_rows(os.path.join(data, "mmlu/test/*.csv"), False) if len(row) >= 6]
    rng.shuffle(mmlu)
    for f, i, row in mmlu[:PER_SOURCE_CAP]:
        q, a, b, c, d = row[:5]
        item = f"{f}:{i}"
        add(rng.choice(EXAM_EN).format(q=q, a=a, b=b, c=c, d=d), "exam", "en", "mmlu", item)
        if q.rstrip().endswith("?") and "_" not in q and len(q) < 300:
            wrap([w for w in QA_WRAP if w[0] == "en"], q.strip(), "qa", "mmlu", item)
    ceval = csv_rows(os.path.join(data, "ceval/val/*.csv"), True) + csv_rows(os.path.join(data, "ceval/dev/*.csv"), True)
    for f, i, row in ceval:
        if len(row) < 6:
            continue
        q, a, b, c, d = row[1:6]
        item = f"{f}:{i}"
        add(rng.choice(EXAM_ZH).format(q=q, a=a, b=b, c=c, d=d), "exam", "zh", "ceval", item)
        if re.search(r"[？?]\s*$", q) and "__" not in q and "（ ）" not in q and len(q) < 200:
            wrap([w for w in QA_WRAP if w[0] == "zh"], q.strip(), "qa", "ceval", item)
        elif rng.random() < 0.25:  # a Chinese sentence to translate
            wrap(TRANSLATE_FROM_ZH, q.strip().replace("____", "……"), "translation", "ceval", item)
    # XSum and CNN/DailyMail articles -> summarization, questions about them -> rag, sentences -> translation.
    for name in ("xsum/xsum_0shot.h2o.jsonl", "cnn_dailymail/cnn_dailymail_0shot.h2o.jsonl"):
        source = name.split("/")[0]
        for i, r in enumerate(jsonl(os.path.join(data, name))):
            p = passage(r["article"], rng, 150, 2000)
            wrap(SUMMARY_WRAP, p, "summarization", source, i)
            if i % 2 == 0:
                lang, t = rng.choice(RAG_WRAP)
                qlang, qt = rng.choice([q for q in RAG_QUESTIONS if q[0] == lang])
                add(t.format(passage=p, question=qt.format(entity(p, rng))), "rag", lang, source, i)
            if i % 3 == 0:
                wrap(TRANSLATE_TO, first_sentence(r.get("summary_gt") or p), "translation", source, i)
    # QA: composed questions, each its own item.
    for i in range(700):
        lang = "zh" if i % 3 else "en"
        parts = {k: rng.choice(v) for k, v in QA_PARTS[lang].items()}
        add(rng.choice(QA_ZH if lang == "zh" else QA_EN).format_map(parts), "qa", lang, "composed-qa", i)
    # Chat: composed requests, each its own item.
    for i in range(900):
        lang = "zh" if i % 2 else "en"
        template = rng.choice(CHAT_ZH if lang == "zh" else CHAT_EN)
        parts = {k: rng.choice(v) for k, v in CHAT_PARTS[lang].items()}
        add(template.format(**parts), "chat", lang, "composed-chat", i)

    # Composed requests in both languages, from the same shared texts.
    english_sentences, english_passages, chinese_statements = [], [], []
    for i, r in enumerate(jsonl(os.path.join(data, "xsum/xsum_0shot.h2o.jsonl"))):
        english_sentences.append(first_sentence(r.get("summary_gt", "")))
        english_passages.append(passage(r["article"], rng, 150, 1200))
    for f, i, row in csv_rows(os.path.join(data, "ceval/dev/*.csv"), True):
        if len(row) >= 6:
            chinese_statements += [x for x in row[2:6] if len(x) > 8]
    for i, (text, label, lang) in enumerate(intent_compose.composed(rng, english_sentences, english_passages,
                                                                     chinese_statements)):
        add(text, label, lang, f"composed-{label}", i)

    os.makedirs(args.out, exist_ok=True)
    counts = {}
    by_split = {"train": [], "dev": [], "test": []}
    seen = set()
    for r in out:  # a text composed twice is kept once, so no text is in two splits
        if r["text"] in seen:
            continue
        seen.add(r["text"])
        by_split[split_of(r["source"], r["item"])].append(r)
    for split, rows in by_split.items():
        tmp = os.path.join(args.out, f"{split}.jsonl.tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            for r in rows:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
                key = f"{r['label']}/{r['lang']}"
                counts.setdefault(split, {}).setdefault(key, 0)
                counts[split][key] += 1
        os.replace(tmp, os.path.join(args.out, f"{split}.jsonl"))
    for split in counts:
        counts[split] = dict(sorted(counts[split].items()))
    with open(os.path.join(args.out, "counts.json"), "w") as f:
        json.dump(counts, f, indent=2, sort_keys=True)
    print(json.dumps(counts, indent=1, sort_keys=True))


if __name__ == "__main__":
    main()
