package election

// Name lists of the demo election. Every entity is fictional; any likeness
// to a real party is chance.

var demoFirstNames = []string{
	"Arben", "Besnik", "Blerim", "Driton", "Fatmir", "Gëzim", "Ilir", "Kushtrim", "Labinot", "Mentor",
	"Naim", "Petrit", "Shpend", "Valon", "Yll", "Agon", "Albulena", "Arta", "Besa", "Blerta",
	"Donika", "Drita", "Edona", "Fjolla", "Genta", "Hana", "Jehona", "Teuta", "Vlora", "Zana",
	"Milan", "Dragan", "Nenad", "Stefan", "Jelena", "Milica", "Marija", "Ivana", "Nikola", "Dejan",
	"Emre", "Selim", "Ayşe", "Elif", "Kenan", "Amir", "Edin", "Lejla", "Emina", "Senad",
}

var demoLastNames = []string{
	"Berisha", "Krasniqi", "Gashi", "Shala", "Hoxha", "Morina", "Kastrati", "Bytyqi", "Rexhepi", "Hasani",
	"Kryeziu", "Thaçi", "Haradinaj", "Mustafa", "Ahmeti", "Bajrami", "Dervishi", "Jashari", "Kelmendi", "Limani",
	"Osmani", "Qerimi", "Rama", "Sadiku", "Tahiri", "Ukaj", "Veseli", "Zeqiri", "Musliu", "Salihu",
	"Jovanović", "Petrović", "Nikolić", "Marković", "Stojanović", "Ilić", "Đorđević", "Todorović", "Savić", "Lazić",
	"Yılmaz", "Kaya", "Demir", "Şahin", "Çelik", "Hodžić", "Begović", "Mujić", "Delić", "Kurtović",
}

// demoEntity is one fictional entity of the assembly contest and how many
// candidates its list has; the sizes add up to 1,280 as in Kosovo's
// February 2025 elections.
type demoEntity struct {
	name  string
	kind  EntityKind
	slate int
}

var demoEntities = []demoEntity{
	{"Lëvizja për Zhvillim", Party, 110},
	{"Partia Demokratike e Drejtësisë", Party, 110},
	{"Lidhja e Re Demokratike", Party, 110},
	{"Aleanca për Ardhmërinë", Party, 110},
	{"Koalicioni Dardania", Coalition, 110},
	{"Partia e Punës dhe Prosperitetit", Party, 110},
	{"Koalicioni Qytetar Bashkë", Coalition, 110},
	{"Građanska lista Sloga", Party, 110},
	{"Bashkimi Social Demokrat", Party, 45},
	{"Partia Liberale e Dardanisë", Party, 45},
	{"Nisma e Gjelbër", Party, 45},
	{"Türk Demokratik Birliği", Party, 45},
	{"Bošnjačka građanska stranka", Party, 30},
	{"Srpska narodna inicijativa", Party, 30},
	{"Partia Rome e Bashkuar", Party, 30},
	{"Lëvizja Shqiptare për Barazi", Party, 30},
	{"Partia e Pensionistëve", Party, 20},
	{"Inicijativa Gora", Initiative, 20},
	{"Nisma Qytetare Prizreni", Initiative, 20},
	{"Partia Ashkali për Integrim", Party, 20},
	{"Nisma Qytetare Rinia", Initiative, 4},
	{"Nisma për Diasporën", Initiative, 4},
	{"Partia e Fermerëve", Party, 4},
	{"Egipatska liberalna stranka", Party, 4},
	{"Agim Lushaku", Independent, 1},
	{"Mirjana Stanković", Independent, 1},
	{"Fadil Krasniqi", Independent, 1},
	{"Remzi Ismaili", Independent, 1},
}

var demoPatronsAlbanian = []string{
	"Naim Frashëri", "Sami Frashëri", "Ismail Qemali", "Gjergj Kastrioti", "Nënë Tereza",
	"Faik Konica", "Ndre Mjeda", "Luigj Gurakuqi", "Hasan Prishtina", "Ibrahim Rugova",
	"Migjeni", "Pjetër Bogdani", "Asdreni", "Mustafë Bakija", "Dëshmorët e Kombit",
	"Shtjefën Gjeçovi", "Andon Zako Çajupi", "Bajram Curri", "Isa Boletini", "Ali Hadri",
}

var demoPatronsSerbian = []string{
	"Sveti Sava", "Vuk Karadžić", "Dositej Obradović", "Jovan Cvijić", "Desanka Maksimović",
	"Njegoš", "Branko Radičević", "Milan Rakić", "Nikola Tesla", "Kralj Milutin",
}

var demoBuildingsAlbanian = []string{"Shkolla fillore", "Shkolla e mesme", "Shkolla fillore e mesme e ulët"}

var demoBuildingsSerbian = []string{"Osnovna škola", "Srednja škola"}

// demoSerbMajority are the municipalities whose centres get Serbian names.
var demoSerbMajority = map[string]bool{
	"Leposaviq": true, "Zubin Potok": true, "Zveçan": true, "Mitrovicë e Veriut": true,
	"Graçanicë": true, "Kllokot": true, "Partesh": true, "Ranillug": true, "Shtërpcë": true,
}
