package prose

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/moetrain/moetrain/data/internal/rng"
)

// character is someone a paragraph is about: a name or a role, with a pronoun.
type character struct {
	ref string // "Mara" or "the beekeeper"
	she bool
}

// writer fills templates for one topic and paragraph.
type writer struct {
	r    *rng.Rand
	t    *topic
	p, q character
	memo map[string]any      // numbered draws of the current sentence ("noun1" -> noun)
	used map[string][]string // values drawn in the current sentence, per class, to avoid repeats
}

func (w *writer) pick(list []string) string { return list[w.r.IntN(len(list))] }

// fresh draws from a class, avoiding values already used in this sentence when it can.
func (w *writer) fresh(class string, n int, key func(i int) string) int {
	i := w.r.IntN(n)
	for try := 0; try < 4 && contains(w.used[class], key(i)); try++ {
		i = w.r.IntN(n)
	}
	w.used[class] = append(w.used[class], key(i))
	return i
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// draw returns the item of class for a slot; numbered slots reuse their draw.
func (w *writer) draw(class, num string) any {
	if num != "" {
		if v, ok := w.memo[class+num]; ok {
			return v
		}
	}
	var v any
	switch class {
	case "noun":
		v = w.t.nouns[w.fresh(class, len(w.t.nouns), func(i int) string { return w.t.nouns[i].sg })]
	case "subject":
		v = w.t.subjects[w.fresh(class, len(w.t.subjects), func(i int) string { return w.t.subjects[i].sg })]
	case "tool":
		v = w.t.tools[w.fresh(class, len(w.t.tools), func(i int) string { return w.t.tools[i].sg })]
	case "vt":
		v = w.t.vt[w.fresh(class, len(w.t.vt), func(i int) string { return w.t.vt[i].base })]
	case "vi":
		v = w.t.vi[w.fresh(class, len(w.t.vi), func(i int) string { return w.t.vi[i].base })]
	case "adj":
		v = w.t.adjs[w.fresh(class, len(w.t.adjs), func(i int) string { return w.t.adjs[i] })]
	}
	if num != "" {
		w.memo[class+num] = v
	}
	return v
}

// maybeAdj returns "adj " about half the time.
func (w *writer) maybeAdj() string {
	if w.r.IntN(2) == 0 {
		return ""
	}
	return w.draw("adj", "").(string) + " "
}

// slot renders one slot name such as "the_n1" or "vt2.past".
func (w *writer) slot(name string) string {
	capital := false
	if r, _ := utf8.DecodeRuneInString(name); unicode.IsUpper(r) && name != "P" && name != "Q" {
		capital = true
		name = strings.ToLower(name[:1]) + name[1:]
	}
	form := ""
	if i := strings.IndexByte(name, '.'); i >= 0 {
		name, form = name[:i], name[i+1:]
	}
	num := ""
	for len(name) > 0 && name[len(name)-1] >= '0' && name[len(name)-1] <= '9' {
		num = name[len(name)-1:] + num
		name = name[:len(name)-1]
	}
	out := w.word(name, num, form)
	if capital {
		out = capitalize(out)
	}
	return out
}

func (w *writer) word(name, num, form string) string {
	switch name {
	case "P":
		return w.p.ref
	case "Q":
		return w.q.ref
	case "pron", "qpron":
		return pronoun(w.charFor(name), "she", "he")
	case "poss":
		return pronoun(w.p, "her", "his")
	case "obj":
		return pronoun(w.p, "her", "him")
	case "n", "the_n", "a_n", "a_N", "ns", "the_ns", "poss_n":
		n := w.draw("noun", num).(noun)
		switch name {
		case "n":
			return n.sg
		case "ns":
			return n.pl
		case "the_n":
			return "the " + w.maybeAdj() + n.sg
		case "the_ns":
			return "the " + w.maybeAdj() + n.pl
		case "a_n":
			return withArticle(w.maybeAdj() + n.sg)
		case "a_N":
			return withArticle(n.sg)
		default:
			return pronoun(w.p, "her", "his") + " " + w.maybeAdj() + n.sg
		}
	case "some_ns":
		n := w.draw("noun", num).(noun)
		switch w.r.IntN(4) {
		case 0:
			return w.pick(numberWords) + " " + w.maybeAdj() + n.pl
		case 1:
			return "several " + n.pl
		case 2:
			return "a few " + w.maybeAdj() + n.pl
		default:
			return "all the " + n.pl
		}
	case "np":
		switch w.r.IntN(20) {
		case 0, 1, 2, 3, 4, 5, 6, 7:
			return w.word("the_n", num, "")
		case 8, 9, 10, 11:
			return w.word("a_n", num, "")
		case 12, 13, 14:
			return w.word("poss_n", num, "")
		default:
			return w.word("some_ns", num, "")
		}
	case "subj", "subjs", "the_subj", "the_subjs":
		s := w.draw("subject", num).(noun)
		switch name {
		case "subj":
			return s.sg
		case "subjs":
			return s.pl
		case "the_subj":
			return "the " + s.sg
		default:
			return "the " + s.pl
		}
	case "tool", "tools":
		t := w.draw("tool", num).(noun)
		if name == "tools" {
			return t.pl
		}
		return t.sg
	case "vt", "vi":
		return verbForm(w.draw(name, num).(verb), form)
	case "adj":
		return w.draw("adj", num).(string)
	case "adv":
		return w.pick(adverbs)
	case "feeling":
		return w.pick(feelings)
	case "said":
		return w.pick(saidVerbs)
	case "asked":
		return w.pick(askedVerbs)
	case "conn":
		return w.pick(connectives)
	case "place":
		return w.pick(w.t.places)
	case "pp":
		return w.pick(prepositions) + " " + w.pick(w.t.places)
	case "time":
		if w.r.IntN(3) == 0 {
			return w.pick(commonTimes)
		}
		return w.pick(w.t.times)
	case "when":
		return w.pick(w.t.whens)
	case "role", "a_role":
		role := strings.TrimPrefix(w.pick(w.t.roles), "the ")
		if name == "a_role" {
			return withArticle(role)
		}
		return role
	case "num":
		return w.pick(numberWords)
	case "digits":
		return strconv.Itoa(12 + w.r.IntN(988))
	case "year":
		return strconv.Itoa(1820 + w.r.IntN(160))
	case "month":
		return w.pick(months)
	case "weekday":
		return w.pick(weekdays)
	}
	panic("prose: unknown slot " + name)
}

func (w *writer) charFor(name string) character {
	if name == "qpron" {
		return w.q
	}
	return w.p
}

func pronoun(c character, she, he string) string {
	if c.she {
		return she
	}
	return he
}

func verbForm(v verb, form string) string {
	switch form {
	case "", "base":
		return v.base
	case "past":
		return v.past
	case "s3":
		return v.s3
	}
	panic("prose: unknown verb form " + form)
}

// withArticle prefixes "a" or "an" by the sound of the first letter.
func withArticle(phrase string) string {
	lower := strings.ToLower(phrase)
	if strings.HasPrefix(lower, "eu") || strings.HasPrefix(lower, "uni") || strings.HasPrefix(lower, "use") {
		return "a " + phrase
	}
	if strings.ContainsRune("aeiou", rune(lower[0])) {
		return "an " + phrase
	}
	return "a " + phrase
}

func capitalize(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}

// render fills a template and capitalises the start of every sentence in it.
func (w *writer) render(tmpl string) string {
	w.memo = map[string]any{}
	w.used = map[string][]string{}
	var sb strings.Builder
	for {
		i := strings.IndexByte(tmpl, '{')
		if i < 0 {
			sb.WriteString(tmpl)
			break
		}
		j := strings.IndexByte(tmpl[i:], '}')
		if j < 0 {
			panic("prose: unclosed slot in " + tmpl)
		}
		sb.WriteString(tmpl[:i])
		sb.WriteString(w.slot(tmpl[i+1 : i+j]))
		tmpl = tmpl[i+j+1:]
	}
	return capitalizeSentences(sb.String())
}

// capitalizeSentences upper-cases the first letter of the text and the first letter
// after ". ", "? " or "! " (optionally followed by an opening quote).
func capitalizeSentences(s string) string {
	b := []byte(s)
	start := true
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case start && c >= 'a' && c <= 'z':
			b[i] = c - 'a' + 'A'
			start = false
		case start && (c == '"' || c == ' '):
		case c == '.' || c == '?' || c == '!':
			start = i+1 < len(b) && b[i+1] == ' '
		default:
			start = false
		}
	}
	return string(b)
}
