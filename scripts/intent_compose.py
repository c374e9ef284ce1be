"""Composed requests for the intent corpus (imported by intent_corpus.py): categories and wordings the shared
data sets lack (Chinese content, everyday phrasings, other programming languages, symbolic math). Each is
made from a template and slot values; every composed text is its own source item. docs/adapt.md lists them.
"""

LANGS_EN = ["French", "German", "Spanish", "Japanese", "Korean", "Chinese", "Italian", "Russian", "Portuguese", "Arabic"]
LANGS_ZH = ["英文", "法语", "德语", "日语", "韩语", "西班牙语", "俄语", "中文", "意大利语"]
PHRASES_EN = ["good morning", "thank you very much", "where is the train station", "I love you", "nice to meet you",
              "the meeting is postponed until Monday", "how much does this cost", "happy birthday",
              "please call me back later", "the weather is lovely today", "I would like a cup of coffee",
              "see you tomorrow", "carpe diem", "break a leg", "it's raining cats and dogs"]
FOREIGN = ["merci beaucoup", "danke schön", "hasta la vista", "arigatou gozaimasu", "je ne sais quoi", "c'est la vie",
           "dolce vita", "gracias por todo", "wie geht es dir", "bon appétit", "déjà vu", "schadenfreude"]
WORDS_EN = ["serendipity", "resilience", "procrastination", "nostalgia", "ubiquitous", "paradigm", "benchmark", "deadline"]
PHRASES_ZH = ["你好", "谢谢你的帮助", "今天天气很好，我们去公园散步吧", "我明天要去北京出差", "这本书很有意思",
              "请问洗手间在哪里", "祝你生日快乐", "我们下周再见", "欲速则不达", "学而时习之，不亦说乎", "会议推迟到周一",
              "这件衣服多少钱", "我正在学习编程"]
TRANSLATION = {
    "en": ["Translate into {L}: {P}", "How do you say '{P}' in {L}?", "What is '{P}' in {L}?", "Can you translate this to {L}? {P}",
           "{P} -> {L}", "Please translate the following text into {L}:\n{P}", "Give me the {L} translation of \"{P}\".",
           "Translate from English to {L}: {P}", "What does \"{Z}\" mean in English?", "Translate this Chinese into English: {Z}",
           "What does '{F}' mean?", "What's the English for '{F}'?", "I saw the phrase \"{F}\" in a book. What does it mean in English?",
           "Could you put this into {L} for me? {P}", "Render '{P}' in {L}, formal register please."],
    "zh": ["把“{Z}”翻译成{LZ}", "“{P}”用{LZ}怎么说？", "请把这段话译成{LZ}：{Z}", "翻译一下：{P}", "{LZ}翻译：{Z}",
           "这句英文是什么意思：{P}", "帮我翻译成{LZ}：{Z}", "请将下面的句子翻译为{LZ}。\n{Z}", "“{Z}”的英文怎么说？",
           "“{F}”是什么意思？翻译成中文。", "英文单词“{W}”翻译成中文是什么？", "{LZ}里“{Z}”怎么表达？", "中译英：{Z}"],
}
SUMMARY_INSTR = {
    "en": ["Summarize this:", "Give me the key points of the following text.", "What's the main idea here?", "TL;DR please:",
           "Can you recap this in two sentences?", "Write a brief summary of the passage below.", "Condense this into a short paragraph:",
           "Sum up the following email thread.", "Boil this down to three bullet points:", "Give me the gist of this.",
           "Here's a long message; what does it basically say?", "Shorten this to a tweet-length summary:", "Write an abstract for this text:",
           "Create meeting minutes highlights from this transcript:", "Summarize the review below for a busy reader.",
           "Make this shorter but keep what matters:", "What is this text about, in a nutshell?", "Recap the story so far:",
           "Executive summary, please:", "Reduce this to one line:", "Outline the key takeaways:"],
    "zh": ["请总结一下：", "概括下面内容的要点。", "这段话的主要意思是什么？用一句话说。", "请用三句话总结以下内容：", "帮我写个摘要：",
           "提炼这篇文章的核心观点：", "简要概括下面的会议记录。", "总结一下这封邮件的要点：", "把这篇文章压缩到一百字以内：",
           "用几句话说说这段文字讲了什么：", "帮我提取这份报告的重点：", "这段长文太长了，帮我缩写一下：",
           "给这段话写个简短的摘要：", "归纳一下下面的内容：", "请把以下内容精简成要点：", "说说这段文字的大意："],
}
MATH = {
    "en": ["Solve for x: {a}x + {b} = {c}", "What is {a} times {b}?", "Calculate {a} + {b} * {c}.", "What is the derivative of x^{n} * sin(x)?",
           "Integrate {a}x^{n} dx.", "If a car travels {a} km in {n} hours, what is its average speed?", "What is {n}% of {c}?",
           "Find the area of a circle with radius {n}.", "A shirt costs ${c} and is on sale for {n}% off. What is the sale price?",
           "What is the probability of rolling two sixes with two dice?", "Simplify ({a}x + {b}) - ({n}x - {b}).",
           "How many ways can {n} people sit in a row?", "Is {c} a prime number? Show your reasoning.",
           "Tom has {a} apples and gives {n} to each of his {b} friends. How many are left?",
           "What is the square root of {sq}?", "Compute the sum of the first {c} positive integers.",
           "Find the limit of (x^{n} - 1)/(x - 1) as x approaches 1.", "Evaluate the integral of cos(x) from 0 to pi/{n}.",
           "A rectangle has a perimeter of {c} cm and a width of {n} cm. What is its length?",
           "What is {a} squared minus {b} squared?", "Convert {c} degrees Fahrenheit to Celsius.",
           "Find the mean and median of {a}, {b}, {n}, {c}.", "What is the least common multiple of {a} and {b}?",
           "Factor x^2 + {n}x + {b}.", "If f(x) = {a}x^2 - {b}, what is f({n})?",
           "If you deposit ${c} at {n}% interest compounded yearly, how much is there after {b} years?",
           "Prove that there are infinitely many prime numbers.", "Show that the product of two odd numbers is odd.",
           "A recipe needs {n} eggs for {b} people. How many eggs for {a} people?"],
    "zh": ["解方程：{a}x + {b} = {c}", "计算{a}乘以{b}等于多少？", "求x^{n}·sin(x)的导数。", "求不定积分∫{a}x^{n}dx。",
           "一辆车{n}小时行驶了{a}千米，平均速度是多少？", "{c}的百分之{n}是多少？", "半径为{n}的圆面积是多少？",
           "一件衣服原价{c}元，打{n}折后多少钱？", "掷两个骰子都是6的概率是多少？", "{n}个人排成一排有多少种排法？",
           "小明有{a}个苹果，分给{b}个朋友每人{n}个，还剩几个？", "一个长方形长{a}厘米、宽{b}厘米，周长和面积各是多少？",
           "甲乙两人合作一项工程，甲单独做需{a}天，乙单独做需{b}天，合作需要几天？", "{sq}的平方根是多少？",
           "鸡兔同笼，共有{a}个头，{c}只脚，鸡和兔各有多少只？", "等差数列首项为{n}，公差为{b}，第{a}项是多少？",
           "计算：({n}/{a} + {b}/{c}) × {a}", "求极限：当x趋近于0时，sin({n}x)/x的极限。", "已知等比数列首项为{n}，公比为{b}，求前{n}项和。",
           "{a}和{b}的最小公倍数是多少？", "分解因式：x² + {n}x + {b}", "若f(x) = {a}x² - {b}，求f({n})。", "把{c}华氏度换算成摄氏度。",
           "存入{c}元，年利率{n}%，按复利计算{b}年后共有多少钱？", "证明：根号2是无理数。", "一份菜谱{b}人份需要{n}个鸡蛋，{a}人份需要几个？"],
}
CODE_LANGS = ["Python", "Java", "C++", "JavaScript", "Go", "Rust", "SQL", "TypeScript", "C#", "Bash"]
CODE_TASKS_EN = ["reverse a linked list", "implement binary search", "parse a JSON file", "validate an email address with a regex",
                 "implement a singleton", "read a CSV and compute column averages", "build a REST endpoint that returns the current time",
                 "find the longest common substring", "merge two sorted arrays", "implement an LRU cache", "count word frequencies in a file",
                 "find the top 3 salaries in each department", "debounce a function", "sort a list of dictionaries by a key"]
CODE_TASKS_ZH = ["反转链表", "实现二分查找", "解析JSON文件", "用正则表达式校验邮箱", "实现单例模式", "读取CSV并计算每列平均值",
                 "写一个返回当前时间的REST接口", "找出最长公共子串", "合并两个有序数组", "实现LRU缓存", "统计文件中的词频",
                 "找出每个部门工资最高的员工", "实现快速排序", "多线程下载文件"]
SNIPPETS = ["```python\ndef avg(xs):\n    return sum(xs) / len(xs)\nprint(avg([]))\n```",
            "```java\nString s = null;\nSystem.out.println(s.length());\n```",
            "```javascript\nfor (var i = 0; i < 3; i++) { setTimeout(() => console.log(i), 0); }\n```",
            "```cpp\nint* p = new int[10];\np[10] = 5;\n```",
            "```sql\nSELECT name, MAX(salary) FROM employees;\n```",
            "```go\nfunc main() {\n    var m map[string]int\n    m[\"a\"] = 1\n}\n```",
            "def fib(n):\n    return fib(n-1) + fib(n-2)",
            "x = [1, 2, 3]\nfor i in range(4):\n    print(x[i])"]
CODE = {
    "en": ["Write a {CL} function to {T}.", "How do I {T} in {CL}?", "Implement code in {CL} that can {T}.",
           "Why does this code fail?\n{S}", "Explain what this code does:\n{S}", "Fix the bug in this snippet:\n{S}",
           "Refactor this to be more readable:\n{S}", "Can you show me an example of how to {T} using {CL}?",
           "What's wrong with my code? It crashes.\n{S}", "Write unit tests for a function that can {T}.",
           "How do I {W} in {TOOL}?", "Convert this loop into idiomatic {CL}:\n{S}", "What does this error mean: {ERR}",
           "Write a {TOOL} config that can {T}.", "Is there a faster way to {T} in {CL}?",
           "What's the difference between {D} in {CL}?", "When should I use {D}?", "How can I {T} with {CL}?"],
    "zh": ["用{CL}写一个程序，{TZ}。", "怎么用{CL}{TZ}？", "请用{CL}实现：{TZ}", "这段代码为什么报错？\n{S}", "解释一下这段代码的作用：\n{S}",
           "帮我修复这段代码的bug：\n{S}", "优化一下这段代码：\n{S}", "写一个{CL}函数来{TZ}", "{CL}里如何{TZ}？给个例子。",
           "这个报错是什么意思：{ERR}", "在{TOOL}里怎么{WZ}？", "把这段代码改写成{CL}：\n{S}", "写一个{TOOL}组件/配置来{TZ}。",
           "{CL}中{DZ}有什么区别？", "什么时候该用{DZ}？", "{CL}怎么{TZ}？"],
}
DIFFS = [("a list and a tuple", "列表和元组"), ("var and let", "var和let"), ("a struct and a class", "结构体和类"),
         ("an interface and an abstract class", "接口和抽象类"), ("a process and a thread", "进程和线程"),
         ("INNER JOIN and LEFT JOIN", "INNER JOIN和LEFT JOIN"), ("== and ===", "==和==="), ("malloc and new", "malloc和new")]
TOOLS = ["CSS", "git", "Docker", "React", "Excel VBA", "Kubernetes", "HTML", "pandas", "Vue", "nginx"]
TOOL_TASKS = [("center a div", "让元素居中"), ("undo the last commit", "撤销上一次提交"), ("expose a port", "暴露端口"),
              ("manage state", "管理状态"), ("remove duplicate rows", "删除重复行"), ("restart a pod", "重启一个pod"),
              ("make a responsive layout", "实现响应式布局"), ("merge two branches", "合并两个分支")]
ERRORS = ["TypeError: 'NoneType' object is not subscriptable", "Segmentation fault (core dumped)",
          "java.lang.ArrayIndexOutOfBoundsException: 5", "Uncaught ReferenceError: x is not defined",
          "error[E0382]: borrow of moved value", "ModuleNotFoundError: No module named 'numpy'", "NullPointerException"]
QA = {
    "en": ["Who painted {art}?", "How far is the Sun from the Earth?", "What is the boiling point of water at sea level?",
           "What is the population of {city}?", "Why is the sky blue?", "When was {thing} invented?", "How many bones are in the human body?",
           "What does {abbr} stand for?", "Which is the longest river in the world?", "Who discovered gravity?",
           "What is the tallest mountain in {region}?", "How does a vaccine work?", "What is the chemical symbol for gold?",
           "Where do penguins live?", "What's the speed of light?", "Who was {person}?", "What is {food} made from?",
           "Which {big} is the largest in the world?", "In which year did {hist} happen?", "What language do people speak in {city}?"],
    "zh": ["{artz}是谁画的？", "太阳离地球有多远？", "水在标准大气压下的沸点是多少？", "{cityz}有多少人口？", "为什么天空是蓝色的？",
           "{thingz}是什么时候发明的？", "人体有多少块骨头？", "{abbr}是什么的缩写？", "世界上最长的河流是哪条？", "万有引力是谁发现的？",
           "中国的四大发明是什么？", "疫苗是怎么起作用的？", "金的化学符号是什么？", "企鹅生活在哪里？", "光速是多少？", "{personz}是谁？",
           "唐朝是哪一年建立的？", "长城有多长？", "{foodz}是用什么做的？", "世界上最大的{bigz}是哪个？", "{histz}发生在哪一年？"],
}
QA_SLOTS = {"art": ["the Mona Lisa", "The Starry Night", "Guernica"], "city": ["Tokyo", "Lagos", "Mexico City", "Berlin"],
            "thing": ["the telephone", "the bicycle", "paper", "the airplane"], "abbr": ["NASA", "DNA", "GDP", "HTTP", "CPU"],
            "region": ["Africa", "Europe", "South America"], "person": ["Genghis Khan", "Marie Curie", "Confucius", "Ada Lovelace"],
            "artz": ["蒙娜丽莎", "星月夜", "清明上河图"], "cityz": ["东京", "上海", "纽约", "柏林"], "thingz": ["电话", "自行车", "造纸术", "飞机"],
            "personz": ["成吉思汗", "居里夫人", "孔子", "李白"], "food": ["tofu", "cheese", "sushi rice", "chocolate"],
            "big": ["desert", "ocean", "island", "lake"], "hist": ["the first moon landing", "the fall of Rome", "the signing of the Magna Carta"],
            "foodz": ["豆腐", "奶酪", "粽子", "巧克力"], "bigz": ["沙漠", "海洋", "岛屿", "湖泊"], "histz": ["赤壁之战", "郑和下西洋", "五四运动"]}
RAG_INSTR = {
    "en": ["Using only the passages above, answer: {Q}", "Based on the context, {Q}", "Answer from the document: {Q}",
           "Here are the retrieved passages. {Q}", "According to the provided text, {Q}"],
    "zh": ["根据以上资料回答：{Q}", "请仅依据上面的文档回答问题：{Q}", "结合上述材料，{Q}", "参考以下检索结果回答：{Q}", "问题：{Q}（请根据原文作答）"],
}
CHAT = {
    "en": ["Write me a cover letter for a {job} position.", "hey, what's up? can we just talk for a bit", "Tell me a joke about {animal}s.",
           "You are an experienced interviewer. Give me a mock interview for a {job} role.", "I can't sleep at night because of stress. What should I do?",
           "Brainstorm ten names for a {animal} cafe.", "Write a haiku about {season}.", "Help me write a thank-you note to my {rel}.",
           "What are some fun things to do on a rainy weekend?", "Let's play a game: you are a dragon guarding treasure.",
           "Give me feedback on my plan to start running every morning.", "Write a short speech for my {rel}'s retirement party.",
           "I'm bored. Entertain me!", "Compose a product description for a handmade {animal} plush toy.",
           "Pretend to be my personal trainer and motivate me.", "Write a dialogue between a {animal} and a robot."],
    "zh": ["帮我写一封应聘{jobz}的求职信。", "嗨，在吗？想跟你聊聊天。", "讲个关于{animalz}的笑话。", "你是一位资深面试官，请对我进行一次{jobz}岗位的模拟面试。",
           "我最近压力很大，晚上睡不着，怎么办？", "帮我的{animalz}咖啡馆想十个名字。", "写一首关于{seasonz}的七言绝句。", "帮我给{relz}写一张感谢卡。",
           "下雨的周末有什么好玩的事情可以做？", "我们来玩角色扮演吧，你是一条守护宝藏的龙。", "我打算每天早上跑步，你觉得这个计划怎么样？",
           "帮我为{relz}的退休派对写一段致辞。", "好无聊啊，陪我说说话。", "给一个手工{animalz}毛绒玩具写一段商品文案。", "扮演我的私人教练，给我打打气。",
           "写一段{animalz}和机器人的对话。"],
}
CHAT_SLOTS = {"job": ["data analyst", "nurse", "software engineer", "teacher"], "animal": ["cat", "penguin", "dog", "owl"],
              "season": ["winter", "spring", "autumn"], "rel": ["grandmother", "coach", "neighbor", "manager"],
              "jobz": ["数据分析师", "护士", "软件工程师", "老师"], "animalz": ["猫", "企鹅", "狗", "猫头鹰"],
              "seasonz": ["秋天", "春天", "冬天"], "relz": ["奶奶", "教练", "邻居", "领导"]}


CONTEXT_LABELS = {"en": ["Context", "Background", "Policy", "Notes", "Excerpt", "Reference", "Product info", "Passage",
                         "Retrieved document", "Knowledge base entry"],
                  "zh": ["背景", "材料", "规定", "说明", "摘录", "参考资料", "产品信息", "文档", "检索结果", "知识库条目"]}
SHORT_FACTS = {
    "en": ["{n1} people signed up for the workshop, and {n2} attended.", "The warranty covers parts for {n1} months and labour for {n2} months.",
           "The library lends up to {n2} books for {n1} days.", "Tickets cost ${n1} for adults and ${n2} for children.",
           "The project lead is {name}; the deadline is {day}.", "{name} joined the company in {year} as an engineer.",
           "The store opens at {n2} am on weekdays and closes at {n1} pm.", "The river is {n1} km long and flows into the sea near {place}.",
           "Refunds are issued within {n2} business days of receiving the item.", "The festival takes place every {day} in {place}."],
    "zh": ["本次活动共有{n1}人报名，实际到场{n2}人。", "保修期为{n1}个月，期间免费更换零件。", "图书馆每人最多借{n2}本书，借期{n1}天。",
           "成人票{n1}元，儿童票{n2}元。", "项目负责人是{namez}，截止日期是{dayz}。", "{namez}于{year}年加入公司。", "商店工作日早上{n2}点开门，晚上{n1}点关门。",
           "退款将在收到商品后{n2}个工作日内处理。", "这条河全长{n1}公里。", "会议室可容纳{n1}人，需提前{n2}天预约。"],
}
SHORT_QUESTIONS = {
    "en": ["How many people attended?", "How long is the warranty for labour?", "Who is the project lead?", "What time does the store open?",
           "According to this, how much is a child ticket?", "When did {name} join?", "How long do refunds take?", "Where does the festival take place?"],
    "zh": ["实际到场多少人？", "保修期多久？", "项目负责人是谁？", "商店几点开门？", "根据上文，儿童票多少钱？", "退款需要几天？", "这条河有多长？", "会议室需要提前几天预约？"],
}
FACT_SLOTS = {"name": ["Maria", "Kenji", "Omar", "Priya", "Lukas"], "namez": ["李明", "王芳", "张伟", "陈静"],
              "day": ["Friday", "March 3", "the last Sunday of May"], "dayz": ["周五", "三月三日", "五月最后一个周日"],
              "place": ["Lyon", "the old harbour", "Riverside Park"]}


def composed(rng, english_sentences, english_passages, chinese_statements):
    """Yields (text, label, lang) tuples."""
    def pick(d):
        return {k: rng.choice(v) for k, v in d.items()}

    for i in range(500):
        lang = "zh" if i % 2 else "en"
        slots = {"L": rng.choice(LANGS_EN), "LZ": rng.choice(LANGS_ZH), "F": rng.choice(FOREIGN), "W": rng.choice(WORDS_EN),
                 "P": rng.choice(PHRASES_EN + english_sentences[:200]) if rng.random() < 0.5 else rng.choice(PHRASES_EN),
                 "Z": rng.choice(PHRASES_ZH + chinese_statements[:200])}
        yield rng.choice(TRANSLATION[lang]).format(**slots), "translation", lang
    for i in range(400):
        lang = "zh" if i % 2 else "en"
        text = rng.choice(english_passages) if lang == "en" or rng.random() < 0.5 else "".join(rng.sample(chinese_statements, 8))
        if rng.random() < 0.3:  # short material too: a sentence or three can be summarized
            text = (" ".join(rng.sample(english_sentences[:400], rng.randint(1, 3))) if lang == "en" or rng.random() < 0.5
                    else "".join(rng.sample(chinese_statements, rng.randint(1, 3))))
        instr = rng.choice(SUMMARY_INSTR[lang])
        yield (f"{instr}\n{text}" if rng.random() < 0.6 else f"{text}\n\n{instr}"), "summarization", lang
    for i in range(700):
        lang = "zh" if i % 2 else "en"
        a, b, n = rng.randint(2, 99), rng.randint(2, 30), rng.randint(2, 9)
        yield rng.choice(MATH[lang]).format(a=a, b=b, c=rng.randint(10, 500), n=n, sq=rng.choice([16, 49, 144, 2, 50])), "math", lang
    for i in range(700):
        lang = "zh" if i % 2 else "en"
        k = rng.randrange(len(CODE_TASKS_EN))
        w, wz = rng.choice(TOOL_TASKS)
        yield rng.choice(CODE[lang]).format(CL=rng.choice(CODE_LANGS), T=CODE_TASKS_EN[k], TZ=CODE_TASKS_ZH[k],
                                            S=rng.choice(SNIPPETS), TOOL=rng.choice(TOOLS), W=w, WZ=wz,
                                            ERR=rng.choice(ERRORS), D=DIFFS[k % len(DIFFS)][0],
                                            DZ=DIFFS[k % len(DIFFS)][1]), "code", lang
    for i in range(500):
        lang = "zh" if i % 2 else "en"
        yield rng.choice(QA[lang]).format(**pick(QA_SLOTS)), "qa", lang
    for i in range(500):
        lang = "zh" if i % 2 else "en"
        if lang == "zh" and rng.random() < 0.6:
            passage = "\n".join(f"[{j + 1}] {s}" for j, s in enumerate(rng.sample(chinese_statements, 5)))
            question = rng.choice(["哪一项说法是正确的？", "材料中提到了哪些观点？", "第二条资料说明了什么？", "文中的主要结论是什么？"])
        elif rng.random() < 0.4:
            facts = [f"In {rng.randint(1990, 2024)}, the region's population was {rng.randint(2, 900)} thousand.",
                     f"The company reported revenue of ${rng.randint(2, 90)} million, up {rng.randint(2, 30)}% from the year before.",
                     f"Members may return items within {rng.randint(7, 60)} days with a receipt.",
                     f"The bridge is {rng.randint(100, 3000)} metres long and opened in {rng.randint(1900, 2020)}.",
                     f"About {rng.randint(10, 95)}% of the staff work remotely at least {rng.randint(1, 4)} days a week.",
                     f"该市常住人口为{rng.randint(100, 2000)}万人，同比增长{rng.randint(1, 9)}%。",
                     f"公司规定员工每年享有{rng.randint(5, 20)}天带薪年假。"]
            docs = rng.sample(facts, 3)
            passage = "\n".join(f"Document {j + 1}: {d}" if rng.random() < 0.5 else d for j, d in enumerate(docs))
            question = rng.choice(["how many days do members have to return items?", "what was the growth rate?",
                                   "according to the documents, when did it open?", "该市人口是多少？", "how long is the bridge?"])
        else:
            passage = rng.choice(english_passages)
            question = rng.choice(["who is mentioned first?", "what happened in the end?", "what is the main cause described?",
                                   "when did it take place?", "谁是文中提到的第一个人？", "事件的结果是什么？"])
        yield f"{passage}\n{rng.choice(RAG_INSTR[lang]).format(Q=question)}", "rag", lang
    for i in range(600):
        lang = "zh" if i % 2 else "en"
        yield rng.choice(CHAT[lang]).format(**pick(CHAT_SLOTS)), "chat", lang
    # Short contexts (two to four facts) under a label, then a question: rag in the size of a FAQ or a note.
    for i in range(600):
        lang = "zh" if i % 2 else "en"
        slots = dict(pick(FACT_SLOTS), n1=rng.randint(10, 90), n2=rng.randint(2, 9), year=rng.randint(1995, 2024))
        facts = " ".join(f.format(**slots) for f in rng.sample(SHORT_FACTS[lang], rng.randint(2, 4)))
        label = rng.choice(CONTEXT_LABELS[lang])
        question = rng.choice(SHORT_QUESTIONS[lang]).format(**slots)
        layout = rng.randrange(4)
        if lang == "en":
            text = [f"{label}: {facts}\n{question}", f"{label}: {facts}\nQuestion: {question}",
                    f"{facts}\nBased on the {label.lower()} above, {question[0].lower() + question[1:]}",
                    f"Use the following {label.lower()} to answer.\n{facts}\n{question}"][layout]
        else:
            text = [f"{label}：{facts}\n{question}", f"{label}：{facts}\n问题：{question}", f"{facts}\n根据以上{label}，{question}",
                    f"请根据下面的{label}回答。\n{facts}\n{question}"][layout]
        yield text, "rag", lang
