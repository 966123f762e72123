"""Name pools of many origins, their ethnicity mix, and spelling-variant tables.

All names are common given and family names taken from general knowledge of naming in each
community; no real person is described. Proportions of origins are *plausible* for the
children's secure estate in England (Youth Justice Board annual statistics report roughly:
White ~50%, Black ~25-30%, Mixed ~13-15%, Asian ~7%, Other ~3%); they are not a
measurement. Each origin carries a distribution over NHS ETHNIC CATEGORY codes so that the
true ethnicity is consistent with the name, while allowing e.g. a Caribbean-origin family
name on a child of Mixed White and Black Caribbean ethnicity.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Origin:
    """A naming tradition: given names by sex, family names, and its NHS ethnicity mix."""

    name: str
    weight: float  # share of children drawn from this origin (normalised later)
    male: tuple[str, ...]
    female: tuple[str, ...]
    family: tuple[str, ...]
    ethnicity: tuple[tuple[str, float], ...]  # (NHS ETHNIC CATEGORY code, probability)
    middle_rate: float = 0.5  # share of children who have a middle name


def _t(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_WB_M = _t("Jack Harry Charlie Oliver George Thomas James Jacob Alfie Joshua William Daniel "
           "Callum Liam Kyle Connor Jordan Ryan Lewis Bradley Reece Kieran Luke Nathan Tyler "
           "Owen Ben Dylan Mason Ethan Jake Aaron Brandon Cameron Declan Scott Jamie Lee Shane")
_WB_F = _t("Chloe Jessica Emily Lauren Sophie Megan Amy Hannah Charlotte Courtney Paige Shannon "
           "Jade Holly Ellie Leah Abbie Caitlin Bethany Kayleigh Demi Keira Millie Lacey Tia")
_WB_FAM = _t("Smith Jones Taylor Brown Williams Wilson Johnson Davies Robinson Wright Thompson "
             "Evans Walker White Roberts Green Hall Wood Jackson Clarke Hughes Edwards Turner "
             "Hill Moore Cooper Ward Harris Lewis Martin Baker Parker Shaw Bennett Marshall "
             "Holmes Atkinson Barker Fletcher Pearson Heywood Whitworth Crossley Ackroyd")
_IR_M = _t("Sean Patrick Conor Cian Oisin Ciaran Niall Eoin Padraig Darragh Fionn Ronan")
_IR_F = _t("Aoife Siobhan Niamh Ciara Roisin Saoirse Orla Caoimhe Aisling Sinead")
_IR_FAM = _t("Murphy Kelly O'Sullivan Walsh O'Brien Byrne Ryan O'Connor O'Neill Doyle McCarthy "
             "Gallagher O'Donnell Kennedy Lynch Quinn Brennan Fitzgerald")
_TRAV_M = _t("John Michael Patrick Martin Tom Joe Francis Jimmy Johnny Paddy Christy Bartley")
_TRAV_F = _t("Mary Bridget Margaret Kathleen Nora Ellen Winnie Chelsea Tiffany Shamrock")
_TRAV_FAM = _t("Ward McDonagh Connors Joyce Maughan Stokes Delaney Quilligan Cash Sweeney "
               "McGinley Collins Casey Doherty Price Lee Boswell Loveridge")
_ROMA_M = _t("Marian Dusan Jozef Milan Roman Ladislav Petru Florin Ionut Gabriel Sandor")
_ROMA_F = _t("Marcela Monika Renata Denisa Lenuta Florentina Erika Zaneta Ramona")
_ROMA_FAM = _t("Lakatos Balogh Horvath Kaleja Dudi Oláh Rostas Giurgiu Badi Pompa Kurej Sarkozi")
_PL_M = _t("Jakub Kacper Szymon Filip Mateusz Bartosz Michal Wojciech Krystian Dawid Piotr")
_PL_F = _t("Zuzanna Julia Aleksandra Natalia Wiktoria Oliwia Kinga Magdalena Agnieszka")
_PL_FAM = _t("Nowak Kowalski Wisniewski Wójcik Kowalczyk Kamiński Lewandowski Zieliński "
             "Szymański Dąbrowski Kozłowski Jankowski Mazur Krawczyk")
_RO_M = _t("Andrei Alexandru Ionut Mihai Stefan Cristian Bogdan Razvan Marius Adrian Vlad")
_RO_F = _t("Ioana Andreea Elena Maria Bianca Alexandra Roxana Denisa Larisa")
_RO_FAM = _t("Popescu Ionescu Popa Radu Dumitru Stan Stoica Gheorghe Munteanu Constantin "
             "Ștefan Mocanu Lungu")
_LT_M = _t("Lukas Matas Dominykas Nojus Karolis Tomas Ignas Deividas")
_LT_F = _t("Gabija Ugne Emilija Kamile Austeja Greta")
_LT_FAM = _t("Kazlauskas Jankauskas Petrauskas Stankevicius Vasiliauskas Zukauskas Balciunas")
_AL_M = _t("Ardit Arben Besnik Dritan Endrit Erion Klodian Luan Gentian Flamur Kristi")
_AL_F = _t("Ardita Elira Besa Klea Arta Drita Era")
_AL_FAM = _t("Hoxha Shehu Krasniqi Gashi Berisha Morina Leka Dervishi Kola Cela Hysa")
_TK_M = _t("Mehmet Mustafa Emre Yusuf Baran Serhat Hasan Kemal Deniz Rojhat Azad")
_TK_F = _t("Elif Zeynep Ayse Emine Berfin Rojin Dilan Sevda")
_TK_FAM = _t("Yilmaz Kaya Demir Sahin Celik Yildiz Dogan Arslan Aydin Ozturk Polat Aslan")
_CAR_M = _t("Jaden Tyrese Kemar Devon Marcus Andre Jermaine Tyrone Dwayne Kyrie Rashad "
            "Leon Malachi Isaiah Nathaniel Jerome Shaquille Kai Reuben Josiah")
_CAR_F = _t("Shanice Jada Aaliyah Chantelle Tanisha Keisha Shantelle Tiana Nia Kayla Naomi")
_CAR_FAM = _t("Campbell Brown Williams Grant Thompson Francis Morgan Reid Stewart Clarke "
              "Henry Edwards Gordon Bailey Richards Forbes Lindo Samuels Dacosta McKenzie")
_NG_M = _t("Oluwaseun Chukwuemeka Adebayo Oluwatobi Emeka Ifeanyi Tobiloba Damilare "
           "Olamide Chidi Temitope Babatunde Ayomide Obinna David Daniel Samuel")
_NG_F = _t("Oluwabukola Chiamaka Adaeze Funmilayo Ngozi Temiloluwa Folake Chidinma Ifeoma "
           "Precious Blessing")
_NG_FAM = _t("Okafor Adeyemi Okonkwo Balogun Adebayo Eze Ogunleye Nwosu Olawale Okeke "
             "Afolabi Oyelaran Akinola Chukwu Ibrahim Bello Onyekachi")
_GH_M = _t("Kwame Kofi Kwabena Yaw Kojo Kwesi Nana Emmanuel Prince")
_GH_F = _t("Ama Akosua Abena Efua Adwoa Yaa Esi")
_GH_FAM = _t("Mensah Owusu Boateng Asante Osei Agyeman Appiah Darko Amoah Badu")
_SO_M = _t("Abdirahman Abdullahi Mohamed Abdi Ahmed Hassan Mahad Liban Yusuf Abdikarim "
           "Mustafe Guled Bashir")
_SO_F = _t("Hodan Ayan Sahra Hibo Fadumo Amina Idil Sagal Nasra Ifrah")
_SO_FAM = _t("Abdi Mohamed Ahmed Hassan Farah Warsame Ali Osman Nur Jama Omar Hussein Aden "
             "Ismail Dirie")
_ER_M = _t("Yonas Dawit Samuel Filmon Biniam Merhawi Robel Kibrom")
_ER_F = _t("Selam Helen Senait Tsega Rahel Mebrat")
_ER_FAM = _t("Tesfay Gebremedhin Berhane Haile Kidane Tekle Ghebre Woldu")
_CG_M = _t("Exauce Merveille Christ Glody Junior Dieumerci Patrick")
_CG_F = _t("Grace Merveille Divine Esther Plamedie")
_CG_FAM = _t("Mbuyi Kabongo Tshibangu Mukendi Ilunga Kalonji Lukusa Mbala")
_PK_M = _t("Muhammad Ali Hamza Bilal Usman Zain Ibrahim Hassan Haris Ayaan Adnan Imran "
           "Zeeshan Umar Rehan Faisal")
_PK_F = _t("Aisha Fatima Maryam Zainab Hafsa Amna Iqra Sana Alishba Noor Mehwish")
_PK_FAM = _t("Khan Hussain Ahmed Ali Iqbal Akhtar Mahmood Shah Rashid Butt Bashir Malik "
             "Javed Aslam Riaz Chaudhry Sadiq")
_BD_M = _t("Mohammed Abdul Rahim Shahid Rakib Shahin Sabbir Tanvir Jamal Rayhan Nazmul")
_BD_F = _t("Fatema Sumaiya Tahmina Nusrat Rumana Jannat Salma Shirin")
_BD_FAM = _t("Begum Miah Uddin Rahman Islam Hoque Ali Ahmed Chowdhury Khatun Hussain Alam "
             "Sarkar Talukdar")
_IN_M = _t("Arjun Rohan Harpreet Gurpreet Jaskaran Aman Vikram Rahul Sunil Ravi Sukhdeep")
_IN_F = _t("Priya Simran Navdeep Anjali Kiran Pooja Manpreet Harleen Jasleen")
_IN_FAM = _t("Singh Kaur Patel Sharma Gill Sandhu Dhillon Sidhu Kumar Mistry Chauhan Bains Mehta")
_AF_M = _t("Ahmad Mohammad Ali Mustafa Sayed Farhad Javid Hamid Omid Wahid")
_AF_F = _t("Mariam Zarghuna Parisa Farzana Nargis")
_AF_FAM = _t("Ahmadzai Popal Wardak Rahimi Karimi Noori Hashimi Sultani Amiri Safi")
_CN_M = _t("Wei Jun Hao Yu Jie Ming Chen Kai Zhi Tao")
_CN_F = _t("Mei Xin Yan Li Ying Jing Hui Lin")
_CN_FAM = _t("Wang Li Zhang Liu Chen Yang Huang Zhao Wu Zhou Lin Chan Wong Cheung Ho Lam")
_VN_M = _t("Minh Tuan Duc Huy Khanh Long Nam Quang Thanh Hoang")
_VN_F = _t("Linh Trang Huong Lan Ngoc Thao Mai Anh")
_VN_FAM = _t("Nguyen Tran Le Pham Hoang Phan Vu Dang Bui Do Ho Ngo Duong Ly")
_AR_M = _t("Ahmed Omar Khalid Yousef Hamza Karim Tariq Ibrahim Majid Samir Nasser Bilal")
_AR_F = _t("Layla Noor Yasmin Rania Huda Salma Fatima Dalia Lina")
_AR_FAM = _t("Al-Sayed Haddad Hamdan Mansour Nasser Saleh Khalil Darwish Aziz Hamid Jaber "
             "Abdullah Ibrahim Al-Masri")
_KU_M = _t("Rebwar Karwan Hawre Sirwan Dilshad Shvan Aram Hemin")
_KU_F = _t("Shilan Rezan Nazdar Jwan Hana")
_KU_FAM = _t("Ahmadi Rasul Mahmoud Qadir Karim Hama Aziz Salih")

ORIGINS: tuple[Origin, ...] = (
    Origin("white_british", 0.40, _WB_M, _WB_F, _WB_FAM, (("A", 0.97), ("C", 0.03))),
    Origin("irish", 0.012, _IR_M, _IR_F, _IR_FAM, (("B", 0.8), ("A", 0.2))),
    Origin("irish_traveller", 0.025, _TRAV_M, _TRAV_F, _TRAV_FAM, (("C", 0.75), ("B", 0.15), ("A", 0.1)), 0.3),
    Origin("roma", 0.01, _ROMA_M, _ROMA_F, _ROMA_FAM, (("C", 0.9), ("S", 0.1)), 0.3),
    Origin("polish", 0.012, _PL_M, _PL_F, _PL_FAM, (("C", 1.0),), 0.2),
    Origin("romanian", 0.01, _RO_M, _RO_F, _RO_FAM, (("C", 1.0),), 0.3),
    Origin("lithuanian", 0.005, _LT_M, _LT_F, _LT_FAM, (("C", 1.0),), 0.1),
    Origin("albanian", 0.012, _AL_M, _AL_F, _AL_FAM, (("C", 0.9), ("S", 0.1)), 0.1),
    Origin("turkish", 0.008, _TK_M, _TK_F, _TK_FAM, (("C", 0.5), ("S", 0.5)), 0.2),
    Origin("kurdish", 0.006, _KU_M, _KU_F, _KU_FAM, (("S", 0.7), ("C", 0.3)), 0.2),
    Origin("caribbean", 0.10, _CAR_M, _CAR_F, _CAR_FAM, (("M", 0.75), ("P", 0.15), ("D", 0.1))),
    Origin("nigerian", 0.055, _NG_M, _NG_F, _NG_FAM, (("N", 0.95), ("P", 0.05)), 0.7),
    Origin("ghanaian", 0.02, _GH_M, _GH_F, _GH_FAM, (("N", 1.0),), 0.6),
    Origin("somali", 0.045, _SO_M, _SO_F, _SO_FAM, (("N", 0.85), ("P", 0.15)), 0.6),
    Origin("eritrean", 0.01, _ER_M, _ER_F, _ER_FAM, (("N", 1.0),), 0.6),
    Origin("congolese", 0.006, _CG_M, _CG_F, _CG_FAM, (("N", 1.0),), 0.4),
    # Mixed-heritage children: given names from one pool, family names from either parent.
    Origin("mixed_white_black_caribbean", 0.095, _WB_M + _CAR_M, _WB_F + _CAR_F,
           _WB_FAM + _CAR_FAM, (("D", 0.9), ("G", 0.05), ("M", 0.05))),
    Origin("mixed_white_black_african", 0.02, _WB_M + _NG_M[-3:], _WB_F + _NG_F[-2:],
           _WB_FAM + _NG_FAM + _GH_FAM, (("E", 0.9), ("G", 0.1))),
    Origin("mixed_white_asian", 0.01, _WB_M + _PK_M[:6], _WB_F + _IN_F[:4], _WB_FAM + _PK_FAM,
           (("F", 0.9), ("G", 0.1))),
    Origin("mixed_other", 0.02, _WB_M + _AR_M, _WB_F + _AR_F, _WB_FAM + _AR_FAM + _TK_FAM,
           (("G", 0.9), ("S", 0.1))),
    Origin("pakistani", 0.035, _PK_M, _PK_F, _PK_FAM, (("J", 0.95), ("L", 0.05)), 0.4),
    Origin("bangladeshi", 0.015, _BD_M, _BD_F, _BD_FAM, (("K", 0.95), ("L", 0.05)), 0.4),
    Origin("indian", 0.01, _IN_M, _IN_F, _IN_FAM, (("H", 1.0),), 0.4),
    Origin("afghan", 0.012, _AF_M, _AF_F, _AF_FAM, (("L", 0.9), ("S", 0.1)), 0.2),
    Origin("chinese", 0.003, _CN_M, _CN_F, _CN_FAM, (("R", 1.0),), 0.2),
    Origin("vietnamese", 0.007, _VN_M, _VN_F, _VN_FAM, (("L", 0.9), ("S", 0.1)), 0.6),
    Origin("arabic", 0.015, _AR_M, _AR_F, _AR_FAM, (("S", 0.85), ("L", 0.15)), 0.3),
)

# Short forms and nicknames a record may carry instead of the registered given name.
NICKNAMES: dict[str, tuple[str, ...]] = {
    "Alexander": ("Alex", "Alexandr"), "Aleksandra": ("Ola", "Alexandra"), "Alexandra": ("Alex", "Lexie"),
    "Thomas": ("Tom", "Tommy"), "James": ("Jim", "Jimmy", "Jamie"), "William": ("Will", "Billy", "Liam"),
    "Joshua": ("Josh",), "Daniel": ("Dan", "Danny"), "Jacob": ("Jake",), "Nathan": ("Nate",),
    "Charlotte": ("Charlie", "Lottie"), "Jessica": ("Jess",), "Bethany": ("Beth",), "Rebecca": ("Becky",),
    "Margaret": ("Maggie", "Peggy"), "Bridget": ("Biddy",), "Patrick": ("Paddy", "Pat"),
    "Michael": ("Mick", "Mickey", "Mike"), "Francis": ("Frank",), "Kathleen": ("Kathy", "Kate"),
    "Samuel": ("Sam", "Sammy"), "Nathaniel": ("Nate", "Nat"), "Emmanuel": ("Manny",),
    "Oluwaseun": ("Seun",), "Oluwatobi": ("Tobi",), "Chukwuemeka": ("Emeka",), "Oluwabukola": ("Bukola", "Bukky"),
    "Temiloluwa": ("Temi",), "Tobiloba": ("Tobi",), "Ayomide": ("Ayo",), "Funmilayo": ("Funmi",),
    "Abdirahman": ("Abdi",), "Abdullahi": ("Abdi",), "Abdikarim": ("Abdi",), "Muhammad": ("Mo",),
    "Mohammed": ("Mo",), "Mohamed": ("Mo",), "Mohammad": ("Mo",), "Ibrahim": ("Ibby",),
    "Mateusz": ("Matt",), "Jakub": ("Kuba",), "Wojciech": ("Wojtek",), "Magdalena": ("Magda",),
    "Zuzanna": ("Zuzia",), "Krystian": ("Kris",), "Alexandru": ("Alex",), "Cristian": ("Cristi",),
    "Ionut": ("Ion",), "Andreea": ("Andra",), "Dominykas": ("Domas",), "Gurpreet": ("Guri",),
    "Harpreet": ("Harry",), "Jaskaran": ("Jas",), "Jermaine": ("Jay",), "Malachi": ("Kai",),
    "Tyrese": ("Ty",), "Josiah": ("Josh",), "Isaiah": ("Zay",), "Kayleigh": ("Kay",),
    "Caoimhe": ("Keeva",), "Padraig": ("Paddy",), "Mustafa": ("Musti",), "Bartosz": ("Bart",),
}

# Transliteration / spelling variants of the same name (both directions are listed).
_VARIANT_GROUPS: tuple[tuple[str, ...], ...] = (
    ("Muhammad", "Mohammed", "Mohamed", "Mohammad", "Muhammed", "Mohamad"),
    ("Ahmed", "Ahmad", "Ahmet"), ("Hussain", "Hussein", "Husain", "Hossain"),
    ("Yusuf", "Yousef", "Youssef", "Yusef"), ("Abdirahman", "Abdurahman", "Abdulrahman"),
    ("Abdullahi", "Abdulahi", "Abdillahi"), ("Osman", "Othman", "Usman"), ("Umar", "Omar"),
    ("Mustafa", "Mustapha", "Mostafa", "Mustafe"), ("Hassan", "Hasan"), ("Ali", "Aly"),
    ("Ibrahim", "Ebrahim", "Ibraheem"), ("Hamza", "Hamzah"), ("Fatima", "Fatma", "Fatema"),
    ("Aisha", "Ayesha", "Aysha"), ("Maryam", "Mariam", "Meryem"), ("Khalid", "Khaled"),
    ("Rahman", "Rehman"), ("Chowdhury", "Choudhury", "Chaudhry", "Chaudhary"),
    ("Hoque", "Haque", "Hoq"), ("Uddin", "Udin"), ("Miah", "Mia", "Miya"), ("Begum", "Begom"),
    ("Mahmood", "Mahmud", "Mahmoud"), ("Nguyen", "Nguyễn"), ("Pham", "Phạm"), ("Tran", "Trần"),
    ("Yilmaz", "Yılmaz"), ("Ozturk", "Öztürk"), ("Celik", "Çelik"), ("Sahin", "Şahin"),
    ("Dogan", "Doğan"), ("Kowalski", "Kovalski"), ("Wiśniewski", "Wisniewski"),
    ("Wójcik", "Wojcik"), ("Kamiński", "Kaminski"), ("Lewandowski", "Levandovski"),
    ("Zieliński", "Zielinski"), ("Szymański", "Szymanski"), ("Dąbrowski", "Dabrowski"),
    ("Kozłowski", "Kozlowski"), ("Ștefan", "Stefan"), ("Oláh", "Olah"), ("Horvath", "Horvát", "Horwath"),
    ("Sarkozi", "Sarkozy"), ("Michal", "Michał"), ("Krasniqi", "Krasniki"), ("Hoxha", "Hodja", "Hoxa"),
    ("Gashi", "Gashaj"), ("Aleksandra", "Alexandra"), ("Mihai", "Mihail"),
    ("Oluwaseun", "Oluwaseyi"), ("Chukwuemeka", "Chukwuma"), ("Ifeanyi", "Ifeanyichukwu"),
    ("Okonkwo", "Okonko"), ("Nwosu", "Nwoso"), ("Owusu", "Owusuh"), ("Mensah", "Mensa"),
    ("Abdi", "Abdie"), ("Warsame", "Warsama"), ("Jama", "Jaamac"), ("Farah", "Faarah"),
    ("Gebremedhin", "Gebremedhn", "Ghebremedhin"), ("Tesfay", "Tesfaye"), ("Haile", "Hayle"),
    ("McDonagh", "McDonough", "MacDonagh", "Mc Donagh"), ("Maughan", "Maughn", "Mahon"),
    ("O'Sullivan", "OSullivan", "O Sullivan"), ("O'Brien", "OBrien", "O Brien"),
    ("O'Connor", "OConnor", "O'Conner"), ("O'Neill", "ONeill", "O'Neil"), ("O'Donnell", "ODonnell"),
    ("Siobhan", "Shivaun", "Chevonne"), ("Niamh", "Neve", "Neave"), ("Aoife", "Eva", "Efa"),
    ("Saoirse", "Seersha"), ("Sean", "Shaun", "Shawn"), ("Ciaran", "Kieran"), ("Oisin", "Osheen"),
    ("Jaden", "Jayden", "Jaiden"), ("Aaliyah", "Aliyah", "Aleah"), ("Shanice", "Shaniece"),
    ("Tyrese", "Tyreece", "Tyreese"), ("Rashad", "Rashid"), ("Dacosta", "Da Costa", "DaCosta"),
    ("McKenzie", "Mackenzie", "MacKenzie"), ("Kayleigh", "Kayley", "Kaylee"), ("Reece", "Rhys", "Reese"),
    ("Leah", "Lea", "Lia"), ("Lacey", "Lacie"), ("Demi", "Demmi"), ("Abbie", "Abby"),
    ("Al-Sayed", "Alsayed", "El-Sayed", "Al Sayed"), ("Al-Masri", "Almasri", "El-Masri"),
    ("Yasmin", "Yasmine", "Jasmin"), ("Layla", "Leila", "Laila"), ("Noor", "Nur"),
    ("Ahmadzai", "Ahmedzai"), ("Rahimi", "Rahimy"), ("Mohammad", "Mohamad"),
)


# Romanisations of Chinese family names: never applied to given names ("Lee" the English
# given name is not a spelling of "Li").
_FAMILY_ONLY_GROUPS: tuple[tuple[str, ...], ...] = (
    ("Zhang", "Chang"), ("Chen", "Chan"), ("Wang", "Wong"), ("Li", "Lee"), ("Huang", "Wong"),
    ("Zhou", "Chow"), ("Wu", "Ng"),
)


def variant_table(family: bool = False) -> dict[str, tuple[str, ...]]:
    """Spelling variants for each name: every other member of each variant group.

    ``family=True`` adds the groups that only apply to family names.
    """
    table: dict[str, list[str]] = {}
    for group in _VARIANT_GROUPS + (_FAMILY_ONLY_GROUPS if family else ()):
        for name in group:
            table.setdefault(name, [])
            table[name].extend(other for other in group if other != name and other not in table[name])
    return {name: tuple(others) for name, others in table.items()}


# Outward-code areas used for synthetic home postcodes (real postcode areas, random districts:
# the postcodes are valid in shape only and are not checked against the ONS directory).
POSTCODE_AREAS: tuple[str, ...] = _t(
    "B BD BL BN BR BS CR CV DE DN E HD HU L LE LS LU M ME MK N NE NG NW OL PE PO S SE SL SO SR "
    "ST SW TS W WF WS WV"
)
