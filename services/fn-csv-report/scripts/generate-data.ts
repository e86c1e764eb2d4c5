/**
 * Writes the synthetic data sets in `data/`. The values come from simple seasonal models plus
 * seeded noise, so the files look like real monthly records but describe no real measurements.
 * The seed is fixed, so running this again reproduces the committed files byte for byte.
 *
 * Run from the repo root: pnpm exec tsx services/fn-csv-report/scripts/generate-data.ts
 */
import fs from 'node:fs';
import path from 'node:path';

const DATA_DIR = path.resolve(__dirname, '..', 'data');
const YEARS = [2022, 2023, 2024];
const MONTHS = Array.from({ length: 12 }, (_, index) => index + 1);

/** mulberry32: a small seeded generator, good enough for plausible-looking noise. */
function createRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  };
}

/** Box-Muller transform: a standard normal sample from two uniform samples. */
function normal(random: () => number): number {
  const u = Math.max(random(), Number.EPSILON);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

function round(value: number, decimals: number): number {
  const factor = 10 ** decimals;
  return Math.round(value * factor) / factor;
}

interface CityClimate {
  city: string;
  country: string;
  hemisphere: 'north' | 'south';
  annualMeanC: number;
  seasonalAmplitudeC: number;
  dailyRangeC: number;
  annualPrecipitationMm: number;
  /** 1 for rain spread evenly, above 1 for a wet winter, below 1 for a wet summer. */
  winterRainRatio: number;
  annualSunshineHours: number;
}

const CITIES: CityClimate[] = [
  {
    city: 'Oslo',
    country: 'Norway',
    hemisphere: 'north',
    annualMeanC: 6.3,
    seasonalAmplitudeC: 10.5,
    dailyRangeC: 7,
    annualPrecipitationMm: 790,
    winterRainRatio: 0.8,
    annualSunshineHours: 1670,
  },
  {
    city: 'Lisbon',
    country: 'Portugal',
    hemisphere: 'north',
    annualMeanC: 17.4,
    seasonalAmplitudeC: 5.8,
    dailyRangeC: 8,
    annualPrecipitationMm: 720,
    winterRainRatio: 3.2,
    annualSunshineHours: 2800,
  },
  {
    city: 'Vienna',
    country: 'Austria',
    hemisphere: 'north',
    annualMeanC: 11.4,
    seasonalAmplitudeC: 10.2,
    dailyRangeC: 8,
    annualPrecipitationMm: 620,
    winterRainRatio: 0.6,
    annualSunshineHours: 1880,
  },
  {
    city: 'Reykjavik',
    country: 'Iceland',
    hemisphere: 'north',
    annualMeanC: 5.0,
    seasonalAmplitudeC: 5.6,
    dailyRangeC: 5,
    annualPrecipitationMm: 860,
    winterRainRatio: 1.5,
    annualSunshineHours: 1270,
  },
  {
    city: 'Cairo',
    country: 'Egypt',
    hemisphere: 'north',
    annualMeanC: 22.4,
    seasonalAmplitudeC: 7.4,
    dailyRangeC: 12,
    annualPrecipitationMm: 25,
    winterRainRatio: 4.0,
    annualSunshineHours: 3450,
  },
  {
    city: 'Mumbai',
    country: 'India',
    hemisphere: 'north',
    annualMeanC: 27.3,
    seasonalAmplitudeC: 2.3,
    dailyRangeC: 7,
    annualPrecipitationMm: 2200,
    winterRainRatio: 0.05,
    annualSunshineHours: 2580,
  },
  {
    city: 'Montreal',
    country: 'Canada',
    hemisphere: 'north',
    annualMeanC: 7.1,
    seasonalAmplitudeC: 15.0,
    dailyRangeC: 9,
    annualPrecipitationMm: 1000,
    winterRainRatio: 1.0,
    annualSunshineHours: 2050,
  },
  {
    city: 'Denver',
    country: 'United States',
    hemisphere: 'north',
    annualMeanC: 10.4,
    seasonalAmplitudeC: 11.5,
    dailyRangeC: 15,
    annualPrecipitationMm: 400,
    winterRainRatio: 0.5,
    annualSunshineHours: 3100,
  },
  {
    city: 'Cape Town',
    country: 'South Africa',
    hemisphere: 'south',
    annualMeanC: 17.0,
    seasonalAmplitudeC: 4.5,
    dailyRangeC: 9,
    annualPrecipitationMm: 510,
    winterRainRatio: 4.5,
    annualSunshineHours: 3100,
  },
  {
    city: 'Wellington',
    country: 'New Zealand',
    hemisphere: 'south',
    annualMeanC: 12.9,
    seasonalAmplitudeC: 4.0,
    dailyRangeC: 6,
    annualPrecipitationMm: 1250,
    winterRainRatio: 1.4,
    annualSunshineHours: 2060,
  },
];

/** 1 in the warmest month of the hemisphere's summer, -1 in the coldest. */
function seasonal(month: number, hemisphere: CityClimate['hemisphere']): number {
  const warmestMonth = hemisphere === 'north' ? 7 : 1;
  return Math.cos((2 * Math.PI * (month - warmestMonth)) / 12);
}

/**
 * Fraction of the year's precipitation that falls in `month`. Winter-heavy climates
 * (`winterRainRatio` above 1) get more when `seasonal` is negative; the twelve shares sum to 1.
 */
function rainShare(climate: CityClimate, month: number): number {
  const weight = (m: number) => Math.pow(climate.winterRainRatio, -seasonal(m, climate.hemisphere));
  const total = MONTHS.reduce((sum, m) => sum + weight(m), 0);
  return weight(month) / total;
}

function weatherRows(random: () => number): string[][] {
  const rows: string[][] = [];
  for (const climate of CITIES) {
    for (const year of YEARS) {
      for (const month of MONTHS) {
        const season = seasonal(month, climate.hemisphere);
        const meanC =
          climate.annualMeanC + climate.seasonalAmplitudeC * season + 0.9 * normal(random);
        const lowC = meanC - climate.dailyRangeC / 2 - 1.5 * random();
        const highC = meanC + climate.dailyRangeC / 2 + 1.5 * random();

        const precipitationMm =
          climate.annualPrecipitationMm * rainShare(climate, month) * (0.55 + 0.9 * random());
        const rainyDays = Math.min(
          28,
          Math.round(precipitationMm / (4 + 4 * random()) + (precipitationMm > 0 ? 1 : 0)),
        );
        const sunshineHours =
          (climate.annualSunshineHours / 12) *
          (1 + 0.45 * season) *
          (0.85 + 0.3 * random()) *
          (1 - (0.5 * rainyDays) / 30);

        rows.push([
          climate.city,
          climate.country,
          String(year),
          String(month),
          round(meanC, 1).toFixed(1),
          round(lowC, 1).toFixed(1),
          round(highC, 1).toFixed(1),
          round(precipitationMm, 1).toFixed(1),
          String(rainyDays),
          String(Math.max(10, Math.round(sunshineHours))),
        ]);
      }
    }
  }
  return rows;
}

interface Store {
  region: string;
  store: string;
  sizeFactor: number;
}

const STORES: Store[] = [
  { region: 'North', store: 'Harbour Street', sizeFactor: 1.2 },
  { region: 'North', store: 'Mill Lane', sizeFactor: 0.8 },
  { region: 'South', store: 'Market Square', sizeFactor: 1.4 },
  { region: 'South', store: 'Old Quay', sizeFactor: 0.7 },
  { region: 'East', store: 'Station Road', sizeFactor: 1.0 },
  { region: 'West', store: 'Riverside', sizeFactor: 1.1 },
];

interface Category {
  category: string;
  unitPriceEur: number;
  baseUnits: number;
  /** Extra demand in December, as a fraction of the base. */
  decemberBoost: number;
}

const CATEGORIES: Category[] = [
  { category: 'Books', unitPriceEur: 14.5, baseUnits: 620, decemberBoost: 0.9 },
  { category: 'Garden', unitPriceEur: 23.0, baseUnits: 310, decemberBoost: -0.5 },
  { category: 'Kitchen', unitPriceEur: 31.0, baseUnits: 240, decemberBoost: 0.6 },
  { category: 'Toys', unitPriceEur: 19.0, baseUnits: 280, decemberBoost: 2.2 },
];

function salesRows(random: () => number): string[][] {
  const rows: string[][] = [];
  const year = 2024;
  for (const store of STORES) {
    for (const category of CATEGORIES) {
      for (const month of MONTHS) {
        const gardenSeason = category.category === 'Garden' ? seasonal(month, 'north') * 0.7 : 0;
        const december = month === 12 ? category.decemberBoost : 0;
        const units = Math.max(
          0,
          Math.round(
            category.baseUnits *
              store.sizeFactor *
              (1 + gardenSeason + december) *
              (0.85 + 0.3 * random()),
          ),
        );
        const discount = month === 1 || month === 7 ? 0.8 : 1;
        const revenueEur = units * category.unitPriceEur * discount * (0.97 + 0.06 * random());
        const returns = Math.round(units * (0.01 + 0.04 * random()));

        rows.push([
          store.region,
          store.store,
          category.category,
          `${year}-${String(month).padStart(2, '0')}`,
          String(units),
          revenueEur.toFixed(2),
          String(returns),
        ]);
      }
    }
  }
  return rows;
}

/** Quotes a field only when CSV requires it (a comma, a quote or a line break). */
function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

function writeCsv(fileName: string, header: string[], rows: string[][]): void {
  const lines = [header, ...rows].map((row) => row.map(csvField).join(','));
  fs.writeFileSync(path.join(DATA_DIR, fileName), `${lines.join('\n')}\n`);
  // eslint-disable-next-line no-console -- a command-line script reports what it wrote
  console.log(`wrote ${rows.length} rows to data/${fileName}`);
}

const random = createRandom(20240601);
writeCsv(
  'city-weather-monthly.csv',
  [
    'city',
    'country',
    'year',
    'month',
    'mean_temp_c',
    'min_temp_c',
    'max_temp_c',
    'precipitation_mm',
    'rainy_days',
    'sunshine_hours',
  ],
  weatherRows(random),
);
writeCsv(
  'store-sales-2024.csv',
  ['region', 'store', 'category', 'month', 'units', 'revenue_eur', 'returns'],
  salesRows(random),
);
