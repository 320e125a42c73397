package prose

// noun is a countable noun: singular and plural.
type noun struct{ sg, pl string }

// verb is a verb's base form, simple past and third-person-singular present.
type verb struct{ base, past, s3 string }

// person is a named character and the pronoun set used for them.
type person struct {
	name string
	she  bool
}

// topic is the vocabulary of one subject. Slots in templates draw from it.
type topic struct {
	titles   []string // chapter titles (may hold slots)
	people   []person // named characters
	roles    []string // "the keeper": a character described by work (takes a random pronoun)
	places   []string // definite places, usable after a preposition: "the north field"
	nouns    []noun   // things acted on
	subjects []noun   // things that act (subjects of intransitive verbs)
	vi       []verb   // intransitive verbs fitting the subjects
	vt       []verb   // transitive verbs fitting the nouns
	adjs     []string // adjectives for nouns
	tools    []noun   // things worked with
	times    []string // "at dawn": time phrases for the topic
	whens    []string // "when the weather turns": present-tense conditions
	facts    []string // topic sentences with slots (present tense)
	steps    []string // instructions with slots (imperative), may be empty
}

// Words shared by every topic.
var (
	prepositions = []string{"in", "near", "beside", "behind", "beyond", "along", "across", "below", "above", "around"}
	saidVerbs    = []string{"said", "called", "replied", "whispered", "answered", "murmured", "added", "explained"}
	askedVerbs   = []string{"asked", "asked", "called"}
	feelings     = []string{"glad", "tired", "curious", "uneasy", "proud", "patient", "restless", "content", "surprised", "calm"}
	adverbs      = []string{"slowly", "carefully", "quietly", "quickly", "gently", "patiently", "firmly", "steadily", "briskly", "thoughtfully"}
	commonTimes  = []string{
		"in the morning", "late in the afternoon", "after supper", "before noon", "on the first day of spring",
		"in the middle of winter", "at the end of the summer", "one grey Tuesday", "on a bright Sunday",
		"the next morning", "a week later", "that evening", "by midday", "long before sunrise", "early one autumn",
	}
	numberWords = []string{"two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
		"twelve", "fifteen", "twenty", "thirty", "forty", "a hundred"}
	weekdays    = []string{"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"}
	months      = []string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"}
	connectives = []string{"Even so", "Still", "Afterwards", "For a while", "In the end", "Meanwhile", "All the same", "By then", "Later", "Now and then"}
)
