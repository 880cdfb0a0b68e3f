/**
 * #17 item 2: the format converters between task objects and COCO, YOLO and Pascal VOC, both
 * directions, on their own: round trips keep every coordinate (VOC and COCO exactly, YOLO to its
 * division's rounding), class ids map through the class list and nowhere else, and hostile input
 * (malformed JSON, XML, YAML; NaN, negative or outside coordinates; unknown classes; too many
 * items) comes back as problems naming the item. The independent readers are in oracles.test.ts.
 */
import { describe, expect, it } from 'vitest';
import {
  type DatasetItem,
  type FormatProblem,
  fromCoco,
  fromVoc,
  fromVocFiles,
  fromYolo,
  type ReadItem,
  toCoco,
  toVoc,
  toYolo,
} from '../../src/formats/index.ts';
import { CLASSES, generateDataset } from './dataset.ts';

const sizes = (items: ReadItem[]) =>
  items.map(({ fileName, width, height }) => ({ fileName, width: width!, height: height! }));

/** Every problem names its item (or is about the whole dataset, with an empty item and a message). */
function expectNamed(problems: FormatProblem[]) {
  for (const p of problems) {
    expect(p.message.length).toBeGreaterThan(0);
    if (p.item) expect(p.message).toContain(p.item);
  }
}

function closeTo(actual: ReadItem[], expected: ReadItem[], tolerance: number) {
  expect(actual.map((i) => i.fileName)).toEqual(expected.map((i) => i.fileName));
  for (const [n, item] of expected.entries()) {
    const got = actual[n]!;
    expect(got.objects.map((o) => [o.id, o.class_id, o.type, o.properties])).toEqual(
      item.objects.map((o) => [o.id, o.class_id, o.type, o.properties]),
    );
    for (const [k, object] of item.objects.entries()) {
      const flat = (o: ReadItem['objects'][number]) =>
        o.type === 'bbox' ? Object.values(o.coordinates) : o.coordinates.flatMap((p) => [p.x, p.y]);
      const [a, b] = [flat(got.objects[k]!), flat(object)];
      expect(a.length).toBe(b.length);
      for (const [j, v] of b.entries()) expect(Math.abs(a[j]! - v)).toBeLessThanOrEqual(tolerance);
    }
  }
}

describe('round trips on a generated dataset (non-integer coordinates, polygons, class ids 1, 3, 7)', () => {
  const items = generateDataset();

  it('COCO: the same task objects, exactly; category ids are the class ids', () => {
    const { coco, problems } = toCoco(items, { classes: CLASSES });
    expect(problems).toEqual([]);
    expect(coco.categories.map((c) => c.id)).toEqual([1, 3, 7]);
    expect(new Set(coco.annotations.map((a) => a.category_id))).toEqual(new Set([1, 3, 7]));
    const back = fromCoco(JSON.stringify(coco));
    expect(back.problems).toEqual([]);
    expect(back.classes).toEqual(CLASSES);
    expect(back.items).toEqual(items);
  });

  it('COCO categories map to the classes given by name, not by the ids the file gave them', () => {
    const { coco } = toCoco(items, { classes: CLASSES });
    const renumbered = {
      ...coco,
      categories: coco.categories.map((c) => ({ ...c, id: c.id * 100 })),
      annotations: coco.annotations.map((a) => ({ ...a, category_id: a.category_id * 100 })),
    };
    expect(fromCoco(renumbered, { classes: CLASSES }).items).toEqual(items);
    const partial = fromCoco(renumbered, { classes: CLASSES.slice(0, 2) });
    expect(partial.problems[0]!.message).toBe(
      "categories: 'traffic light' (id 700) is not among the classes given; its annotations are left out",
    );
    expect(
      partial.problems
        .slice(1)
        .every((p) => /has category_id 700, which is not among the classes; left out$/.test(p.message)),
    ).toBe(true);
  });

  it('COCO keeps properties other than the class name in attributes', () => {
    const item: DatasetItem = {
      fileName: 'a.jpg',
      width: 10,
      height: 10,
      objects: [
        {
          id: 'x',
          class_id: 3,
          type: 'bbox',
          coordinates: { x: 1, y: 1, width: 2, height: 2 },
          properties: { confidence: 0.25 },
        },
      ],
    };
    const { coco } = toCoco([item], { classes: CLASSES });
    expect(coco.annotations[0]).toMatchObject({
      bbox: [1, 1, 2, 2],
      area: 4,
      attributes: { confidence: 0.25 },
    });
    expect(fromCoco(coco).items[0]!.objects[0]!.properties).toEqual({ confidence: 0.25, label: 'car' });
  });

  it('Pascal VOC at full precision: the same task objects, exactly (1-based xmin, far-edge xmax)', () => {
    const { files, problems } = toVoc(items, { classes: CLASSES });
    expect(problems).toEqual([]);
    expect(Object.keys(files)).toEqual(items.map((i) => `Annotations/${i.fileName.replace('.jpg', '.xml')}`));
    const back = fromVocFiles(files, { classes: CLASSES });
    expect(back.problems).toEqual([]);
    expect(back.items).toEqual(items);
  });

  it('Pascal VOC with integerPixels: whole pixels as the devkit writes them', () => {
    const box = { x: 24.6, y: 3.2, width: 100.3, height: 151.5 };
    const item = {
      fileName: 'p.jpg',
      width: 158,
      height: 158,
      objects: [{ id: 'a', class_id: 1, type: 'bbox', coordinates: box }],
    };
    const xml = toVoc([item], { classes: CLASSES, integerPixels: true }).files['Annotations/p.xml']!;
    // xmin = round(24.6 + 1), ymin = round(3.2 + 1), xmax = round(24.6 + 100.3), ymax = round(3.2 + 151.5)
    expect(xml).toMatch(/<xmin>26<\/xmin>\s*<ymin>4<\/ymin>\s*<xmax>125<\/xmax>\s*<ymax>155<\/ymax>/);
    const back = fromVoc(xml, 'p.xml', { classes: CLASSES }).item!;
    expect(back.objects[0]!.coordinates).toEqual({ x: 25, y: 3, width: 100, height: 152 });
    const full = toVoc([item], { classes: CLASSES }).files['Annotations/p.xml']!;
    expect(full).toMatch(
      /<xmin>25.6<\/xmin>\s*<ymin>4.2<\/ymin>\s*<xmax>124.9<\/xmax>\s*<ymax>154.7<\/ymax>/,
    );
  });

  it('YOLO: the same task objects to 1e-9 px; indices follow the class list given, data.yaml names them', () => {
    const { files, problems } = toYolo(items, { classes: CLASSES });
    expect(problems).toEqual([]);
    expect(files['data.yaml']).toBe('nc: 3\nnames:\n  0: person\n  1: car\n  2: traffic light\n');
    expect(files['labels/image_04.txt']).toBe(''); // the background image still has its (empty) label file
    const first = items[0]!.objects[0]!;
    const line = files['labels/image_01.txt']!.split('\n')[0]!.split(' ');
    expect(Number(line[0])).toBe(CLASSES.findIndex((c) => c.id === first.class_id));
    // full precision: the shortest exact form of each double, not six decimals
    expect(line.slice(1).some((v) => v.split('.')[1]!.length > 6)).toBe(true);
    const back = fromYolo(files, { images: sizes(items), classes: CLASSES });
    expect(back.problems).toEqual([]);
    closeTo(back.items, items, 1e-9);
  });

  it('YOLO without a class list reads data.yaml: a class id is then its YOLO index, and says so', () => {
    const { files } = toYolo(items.slice(0, 2), { classes: CLASSES });
    const back = fromYolo(files, { images: sizes(items.slice(0, 2)) });
    expect(back.classes).toEqual([
      { id: 0, name: 'person' },
      { id: 1, name: 'car' },
      { id: 2, name: 'traffic light' },
    ]);
    const reordered = [CLASSES[2]!, CLASSES[0]!, CLASSES[1]!];
    const mismatch = fromYolo(files, { images: sizes(items.slice(0, 2)), classes: reordered });
    expect(mismatch.problems.map((p) => p.message)).toEqual([
      expect.stringMatching(/data\.yaml names 3 classes .* differ from the classes given/),
    ]);
  });
});

describe('what a format cannot hold is reported, naming the item and the object', () => {
  const item: DatasetItem = {
    fileName: 'photo_01.jpg',
    width: 100,
    height: 50,
    objects: [
      {
        id: 'ok',
        class_id: 1,
        type: 'bbox',
        coordinates: { x: 1, y: 1, width: 5, height: 5 },
        properties: { confidence: 0.9 },
      },
      { id: 'cls', class_id: 1, type: 'label', properties: { label: 'person' } },
      { id: 'pt', class_id: 1, type: 'point', coordinates: { x: 1, y: 1 } },
      { id: 'unknown', class_id: 2, type: 'bbox', coordinates: { x: 1, y: 1, width: 1, height: 1 } },
      { id: 'nan', class_id: 1, type: 'bbox', coordinates: { x: Number.NaN, y: 1, width: 1, height: 1 } },
      { id: 'neg', class_id: 1, type: 'bbox', coordinates: { x: -2, y: 1, width: 1, height: 1 } },
      { id: 'empty', class_id: 1, type: 'bbox', coordinates: { x: 2, y: 1, width: 0, height: 1 } },
      { id: 'out', class_id: 3, type: 'bbox', coordinates: { x: 95, y: 1, width: 10, height: 1 } },
      {
        id: 'poly2',
        class_id: 3,
        type: 'polygon',
        coordinates: [
          { x: 1, y: 1 },
          { x: 2, y: 2 },
        ],
      },
      {
        id: 'polyout',
        class_id: 3,
        type: 'polygon',
        coordinates: [
          { x: 1, y: 1 },
          { x: 2, y: 2 },
          { x: 1, y: 60 },
        ],
      },
      'not an object',
    ],
  };
  const expected = [
    ['cls', /'label' object, which \w[\w ]* cannot hold/],
    ['pt', /'point' object/],
    ['unknown', /class_id 2, which is not in the class list/],
    ['nan', /x NaN, .* not four finite numbers/],
    ['neg', /negative coordinate/],
    ['empty', /empty box/],
    ['out', /reaches \(105, 2\), outside the 100x50 image/],
    ['poly2', /polygon of 2 points/],
    ['polyout', /polygon reaches \(1, 60\), outside/],
    ['#10', /is not an object/],
  ];

  it.each([
    ['COCO', () => toCoco([item], { classes: CLASSES }).problems],
    ['YOLO', () => toYolo([item], { classes: CLASSES }).problems],
    ['Pascal VOC', () => toVoc([item], { classes: CLASSES }).problems],
  ])('%s', (format, run) => {
    const problems = run();
    expectNamed(problems);
    const perObject = problems.filter((p) => p.object);
    expect(perObject.map((p) => p.object)).toEqual(expected.map(([id]) => id));
    for (const [i, [, pattern]] of expected.entries()) {
      expect(perObject[i]!.message).toMatch(pattern as RegExp);
      expect(perObject[i]!.message).toMatch(/^photo_01\.jpg: object .*; left out$/);
    }
    // The detector's confidence: COCO keeps it (attributes); YOLO and VOC have no place for it.
    const properties = problems.filter((p) => !p.object);
    if (format === 'COCO') expect(properties).toEqual([]);
    else
      expect(properties).toEqual([
        {
          item: '',
          message: `${format} has no place for object properties: left out confidence (1 objects)`,
        },
      ]);
  });

  it('items: no size (COCO, YOLO), a name that escapes the folder, a clashing stem', () => {
    const items: DatasetItem[] = [
      { fileName: 'nosize.jpg', objects: [] },
      { fileName: '../../etc/passwd', width: 1, height: 1, objects: [] },
      { fileName: 'a.jpg', width: 1, height: 1, objects: [] },
      { fileName: 'a.png', width: 1, height: 1, objects: [] },
      { fileName: 'half.jpg', width: 10.5, height: 3, objects: [] },
    ];
    const coco = toCoco(items, { classes: CLASSES });
    expect(coco.problems.map((p) => p.item)).toEqual(['nosize.jpg', '../../etc/passwd', 'half.jpg']);
    expect(coco.coco.images.map((i) => i.file_name)).toEqual(['a.jpg', 'a.png']);
    const yolo = toYolo(items, { classes: CLASSES });
    expect(yolo.problems.map((p) => p.message)).toEqual([
      'nosize.jpg: no image size (width, height): YOLO needs it; item left out',
      '../../etc/passwd: not a plain relative file name; item left out',
      "a.png: its label file labels/a.txt is another item's; item left out",
      'half.jpg: image size 10.5x3 is not a positive whole number of pixels; item left out',
    ]);
    const voc = toVoc(items, { classes: CLASSES });
    expect(Object.keys(voc.files)).toEqual(['Annotations/nosize.xml', 'Annotations/a.xml']);
    expect(voc.problems.map((p) => p.item)).toEqual(['../../etc/passwd', 'a.png', 'half.jpg']);
  });

  it('bounds: too many items, too many objects in one', () => {
    const many = generateDataset({ images: 5, polygons: false });
    const limits = { maxItems: 3, maxObjectsPerItem: 2 };
    const { coco, problems } = toCoco(many, { classes: CLASSES, limits });
    expect(coco.images).toHaveLength(3);
    expect(problems[0]!.message).toBe('more than 3 items (the limit): the rest left out');
    const crowded = problems.filter((p) => /objects, more than the limit 2; item left out/.test(p.message));
    expect(crowded.length).toBeGreaterThan(0);
    expectNamed(problems);
  });

  it('a class list with a repeated id or name is refused outright (a caller error, not data)', () => {
    expect(() => toCoco([], { classes: [...CLASSES, { id: 1, name: 'again' }] })).toThrow(
      /class id 1 is listed twice/,
    );
    expect(() => toYolo([], { classes: [...CLASSES, { id: 9, name: 'car' }] })).toThrow(
      /class name 'car' is listed twice/,
    );
  });
});

describe('hostile input read back is reported, naming the item', () => {
  const image = { id: 1, file_name: 'a.jpg', width: 100, height: 50 };
  const categories = [{ id: 3, name: 'car' }];

  it.each([
    ['{"images": [', /^COCO file is not valid JSON: /],
    ['[1, 2]', /^COCO file is not a JSON object$/],
    ['{"images": [], "annotations": []}', /^COCO file has no 'categories' list$/],
  ])('COCO %s', (text, pattern) => {
    const { items, problems } = fromCoco(text);
    expect(items).toEqual([]);
    expect(problems.map((p) => p.message)).toEqual([expect.stringMatching(pattern)]);
  });

  it('COCO: bad images, annotations and categories, each named', () => {
    const annotation = (id: number, extra: Record<string, unknown>) => ({
      id,
      image_id: 1,
      category_id: 3,
      bbox: [1, 1, 2, 2],
      ...extra,
    });
    const { items, problems } = fromCoco({
      images: [
        image,
        { ...image, id: 2 },
        { id: 3, file_name: '/abs.jpg', width: 1, height: 1 },
        { id: 4, file_name: 'b.jpg', width: -1, height: 1 },
      ],
      categories: [...categories, { id: 3, name: 'dup' }, { name: 'no id' }],
      annotations: [
        annotation(1, {}),
        annotation(2, { bbox: [1, 1, 'NaN', 2] }),
        annotation(3, { bbox: [-1, 1, 2, 2] }),
        annotation(4, { bbox: [90, 1, 20, 2] }),
        annotation(5, { category_id: 99 }),
        annotation(6, { image_id: 42 }),
        annotation(7, { iscrowd: 1, segmentation: { counts: 'abc', size: [50, 100] } }),
        annotation(8, {
          segmentation: [
            [1, 1, 5, 1, 5, 5],
            [10, 10, 12, 10, 12, 12],
          ],
        }),
        annotation(9, { bbox: [1, 2] }),
      ],
    });
    expect(items.map((i) => [i.fileName, i.objects.map((o) => o.type)])).toEqual([
      ['a.jpg', ['bbox', 'polygon']],
    ]);
    expect(problems.map((p) => p.message)).toEqual([
      "categories[1]: category id 3 or name 'dup' repeats an earlier one; left out",
      'categories[2]: not a category {id: integer, name: string}; left out',
      'a.jpg: image id 2 or its file name repeats an earlier image; left out',
      '/abs.jpg: image 3 has no plain relative file_name; left out',
      'b.jpg: image size -1x1 is not a positive whole number of pixels; left out',
      'a.jpg: annotation 2 has coordinates (x 1, y 1, width "NaN", height 2), not four finite numbers; left out',
      'a.jpg: annotation 3 box has a negative coordinate (-1, 1); left out',
      'a.jpg: annotation 4 box reaches (110, 3), outside the 100x50 image; left out',
      'a.jpg: annotation 5 has category_id 99, which is not among the classes; left out',
      'annotations[5]: image_id 42 names no image read; left out',
      'a.jpg: annotation 7 is a crowd (RLE) region, which task objects cannot hold; left out',
      'a.jpg: annotation 8 has 2 polygons; a task object holds one, the first is kept and the others left out',
      'a.jpg: annotation 9 has bbox [1,2], not [x, y, width, height]; left out',
    ]);
  });

  it('YOLO: malformed YAML, bad lines (file and line named), unknown index, orphan label file', () => {
    const images = [{ fileName: 'a.jpg', width: 100, height: 50 }];
    const broken = fromYolo(
      { 'data.yaml': 'names: [a, b\n', 'labels/a.txt': '0 0.5 0.5 0.1 0.1\n' },
      { images },
    );
    expect(broken.items).toEqual([]);
    expect(broken.problems[0]!.message).toMatch(/^data\.yaml is not valid YAML: /);

    const { items, problems } = fromYolo(
      {
        'data.yaml': 'names: {0: car, 1: person}\n',
        'labels/a.txt': [
          '0 0.5 0.5 0.2 0.2',
          '1 0.5 0.5 0.2 0.2 0.87',
          '',
          '5 0.5 0.5 0.1 0.1',
          '0 nan 0.5 0.1 0.1',
          '0 0.5 0.5 -0.1 0.1',
          '0 0.99 0.5 0.1 0.1',
          '0 0.5',
          '0 0.1 0.1 0.2 0.1 0.2 0.3 0.4',
          '1.5 0.5 0.5 0.1 0.1',
          '1 0.1 0.1 0.2 0.1 0.2 0.3',
        ].join('\n'),
        'labels/orphan.txt': '0 0.5 0.5 0.1 0.1\n',
      },
      { images },
    );
    expect(items[0]!.objects.map((o) => [o.type, o.class_id, o.properties])).toEqual([
      ['bbox', 0, { label: 'car' }],
      ['bbox', 1, { label: 'person', confidence: 0.87 }],
      ['polygon', 1, { label: 'person' }],
    ]);
    expect(problems.map((p) => p.message)).toEqual([
      'labels/a.txt: line 4 has class index 5, which names no class (2 classes); left out',
      "labels/a.txt: line 5 has 'nan', not a finite number; left out",
      'labels/a.txt: line 6 has an empty box (width -10, height 5); left out',
      'labels/a.txt: line 7 box reaches (104, 27.5), outside the 100x50 image; left out',
      "labels/a.txt: line 8 has 2 values, fewer than a box's 5; left out",
      'labels/a.txt: line 9 has 7 polygon coordinates, an odd number; left out',
      'labels/a.txt: line 10 has class index 1.5, not a whole number; left out',
      'labels/orphan.txt: no image of this stem was given; left out',
    ]);
  });

  it('VOC: malformed XML, an entity bomb, unknown class, missing box, bad number, box outside', () => {
    const classes = [{ id: 3, name: 'car' }];
    const doc = (objects: string, size = '<size><width>100</width><height>50</height></size>') =>
      `<annotation><filename>a.jpg</filename>${size}${objects}</annotation>`;
    const read = (xml: string) => fromVoc(xml, 'a.xml', { classes }).problems.map((p) => p.message);
    expect(read('<annotation><object></annotation>')[0]).toMatch(/^a\.xml: not well-formed XML \(line 1: /);
    expect(read('<root/>')).toEqual(['a.xml: no <annotation> element']);
    const bomb = `<?xml version="1.0"?><!DOCTYPE a [<!ENTITY a "${'x'.repeat(100)}"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;"><!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">]>${doc('<object><name>&e;</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>2</xmax><ymax>2</ymax></bndbox></object>')}`;
    const bombed = read(bomb);
    // Nested entities are not expanded (the parser's bounds): the name stays the reference it is.
    expect(bombed).toEqual([
      "a.xml: object 1 has class name '&e;', which is not in the class list; left out",
    ]);
    expect(
      read(
        doc(
          [
            '<object><name>bus</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>2</xmax><ymax>2</ymax></bndbox></object>',
            '<object><name>car</name></object>',
            '<object><name>car</name><bndbox><xmin>1</xmin><ymin>1e999</ymin><xmax>2</xmax><ymax>2</ymax></bndbox></object>',
            '<object><name>car</name><bndbox><xmin>90</xmin><ymin>1</ymin><xmax>120</xmax><ymax>2</ymax></bndbox></object>',
            '<object><name>car</name><bndbox><xmin>0</xmin><ymin>1</ymin><xmax>2</xmax><ymax>2</ymax></bndbox></object>',
            '<object><name>car</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>2</xmax><ymax>2</ymax></bndbox></object>',
          ].join(''),
        ),
      ),
    ).toEqual([
      "a.xml: object 1 has class name 'bus', which is not in the class list; left out",
      'a.xml: object 2 has no <bndbox>; left out',
      'a.xml: object 3 has <bndbox> (1, 1e999, 2, 2), not four numbers; left out',
      'a.xml: object 4 box reaches (120, 2), outside the 100x50 image; left out',
      'a.xml: object 5 box has a negative coordinate (-1, 0); left out',
    ]);
    expect(read(doc('', '<size><width>x</width><height>50</height></size>'))).toEqual([
      'a.xml: <size> nullx50 is not a positive whole number of pixels',
    ]);
  });

  it('bounds on files read: a label or XML file larger than the limit is one problem', () => {
    const limits = { maxFileChars: 100 };
    const yolo = fromYolo(
      { 'labels/a.txt': '0 0.5 0.5 0.1 0.1\n'.repeat(10) },
      { images: [{ fileName: 'a.jpg', width: 10, height: 10 }], classes: CLASSES, limits },
    );
    expect(yolo.problems.map((p) => p.message)).toEqual([
      'labels/a.txt: larger than 100 characters; left out',
    ]);
    expect(
      fromVoc(`<annotation>${' '.repeat(200)}</annotation>`, 'big.xml', { classes: CLASSES, limits })
        .problems[0]!.message,
    ).toBe('big.xml: larger than 100 characters; left out');
  });
});
